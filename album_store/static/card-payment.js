/*
 * The album page's card payment (store.payment_flow = payment_intents), with Stripe.js's Payment Element.
 *
 * The Payment Element is made for one PaymentIntent (stripe.elements({clientSecret})), so the first
 * Pay makes the attempt and the second one pays:
 *   0. the first time: GET this page's attempt id from the store (data-attempt-url; the page itself
 *      is cached for every visitor, so it cannot carry one);
 *   1. first Pay: POST {attempt_id, email, shown_amount, shown_currency} to the form's action (the last
 *      two: the price this page shows, from the form's data-amount and data-currency): the server
 *      records a pending purchase and answers its PaymentIntent's client secret (the same one for the
 *      same attempt id, so a double click or a retry never makes a second PaymentIntent), with the
 *      receipt's address as return_url. If the price changed since the page was opened, it charges
 *      nothing and answers 409 with the new price: the page shows it (message, price, Pay button) and
 *      the next Pay is for it, without reloading. Then the page mounts the Payment Element for that
 *      client secret (the email is kept for this attempt: the purchase was recorded with it);
 *   2. Pay again: stripe.confirmPayment({elements, confirmParams: {return_url, payment_method_data:
 *      {billing_details: {email}}}, redirect: 'if_required'}): Stripe shows the bank's 3-D Secure check
 *      when the card needs it; a card never leaves the page. A method that does redirect comes back to
 *      return_url (the receipt), which settles the purchase from the PaymentIntent itself;
 *   3. POST to the confirm address: the server asks Stripe how the PaymentIntent ended and answers
 *      the receipt's address, or a message for the buyer (after a failed attempt, also the attempt id
 *      of the next one: the Payment Element of the old PaymentIntent is removed, and the next Pay
 *      starts the new attempt with a fresh one).
 * Pay what you want (the form has data-minimum and an amount field, prefilled with the suggestion):
 * the first Pay sends the typed amount as `amount` (with shown_currency and shown_minimum) instead of
 * shown_amount; the store checks it and makes the PaymentIntent for exactly it, and the field is
 * read-only while that attempt lasts. 0 where the minimum is 0 is a free download: the store records
 * it without Stripe and answers {status: 'free', message}, which the page shows (the link is mailed).
 * Errors are shown under the payment form and the buyer can try again without reloading.
 * Loaded as a file (the store's Content-Security-Policy allows no inline script).
 */
(function () {
  'use strict';

  var form = document.getElementById('card-payment');
  var status = document.getElementById('card-payment-status');
  if (!form) return;

  function showStatus(text) {
    status.textContent = text;
    status.hidden = false;
  }

  if (typeof window.Stripe !== 'function' || typeof window.fetch !== 'function' || typeof window.Promise !== 'function') {
    showStatus('The card form could not load, so you cannot pay right now. Please check your connection and reload the page.');
    return;
  }

  var errors = document.getElementById('card-errors');
  var button = document.getElementById('card-pay');
  var email = document.getElementById('card-email');
  var step = document.getElementById('card-step');
  var stepBefore = step.textContent;
  var STEP_MOUNTED = 'Enter your card details, then press Pay.';
  var mountPoint = document.getElementById('payment-element');
  var mountLabel = document.getElementById('payment-label');
  var csrfInput = form.querySelector('input[name="csrf_token"]');
  var priceLabels = document.querySelectorAll('.buy-box__price');
  var emailLocked = email.readOnly;  // a signed-in buyer's address: always theirs
  var chosen = document.getElementById('chosen-amount');  // pay what you want: the buyer's amount
  var attempt = { value: null };  // this page's checkout attempt, once the store has named it
  var payLabel = button.textContent;
  var busy = false;
  // The attempt being paid: {clientSecret, confirmUrl, returnUrl, elements, element}, once started.
  var current = null;

  var stripe;
  try {
    stripe = window.Stripe(form.getAttribute('data-key'));
  } catch (error) {
    showStatus('The card form could not load: ' + error.message);
    return;
  }
  form.hidden = false;
  button.disabled = false;

  var APPEARANCE = {
    variables: { colorPrimary: '#b8401d', colorText: '#1f1b18', colorDanger: '#b3261e', fontSizeBase: '16px',
      borderRadius: '6px' }
  };

  function showError(text) {
    errors.textContent = text || '';
  }

  function setBusy(on) {
    busy = on;
    button.disabled = on;
    button.textContent = on ? (current ? 'Paying…' : 'Opening the card form…') : payLabel;
    if (current) current.element.update({ readOnly: on });
  }

  // This visitor's CSRF token: the form's (filled in by csrf.js), or the csrf_token cookie itself.
  function csrfToken() {
    if (csrfInput.value) return csrfInput.value;
    var match = document.cookie.match(/(?:^|;\s*)csrf_token=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : '';
  }

  // POST (or GET) JSON, with the CSRF token in X-CSRF-Token (Pyramid checks it). Resolves to
  // {status: HTTP status, body: the JSON answer, or {} when the answer was not JSON}.
  function post(url, fields, method) {
    var init = {
      method: method || 'POST',
      credentials: 'same-origin',
      headers: { 'Accept': 'application/json', 'X-CSRF-Token': csrfToken() }
    };
    if (init.method === 'POST') {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(fields || {});
    }
    return fetch(url, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body || {} };
      });
    });
  }

  function goTo(url) {
    window.location.assign(url);
    return new Promise(function () {}); // stay busy until the receipt loads
  }

  // The price this page shows, sent with the payment: the store charges nothing if it is not the price.
  function shownPrice() {
    if (chosen) {
      return { amount: chosen.value.trim(), shown_currency: form.getAttribute('data-currency'),
        shown_minimum: parseInt(form.getAttribute('data-minimum'), 10) };
    }
    return { shown_amount: parseInt(form.getAttribute('data-amount'), 10), shown_currency: form.getAttribute('data-currency') };
  }

  // The price changed since the page was opened (409 price_changed): show the new one everywhere on
  // the page, so the next Pay is for it (with the new attempt id the answer names).
  function takeNewPrice(body) {
    form.setAttribute('data-currency', body.currency);
    if (chosen) {
      // Pay what you want: the new minimum (and currency) for the next Pay; the buyer chooses again.
      if (body.minimum !== null && body.minimum !== undefined) form.setAttribute('data-minimum', String(body.minimum));
      return;
    }
    form.setAttribute('data-amount', String(body.amount));
    payLabel = 'Pay ' + body.price_label;
    for (var i = 0; i < priceLabels.length; i++) priceLabels[i].textContent = body.price_label;
  }

  // The Payment Element of an attempt that is over (failed: a new attempt id) goes; the next Pay
  // starts the next attempt with a new one.
  function dropAttempt() {
    if (!current) return;
    current.element.destroy();
    current = null;
    mountPoint.hidden = true;
    mountLabel.hidden = true;
    step.textContent = stepBefore;
    if (!emailLocked) email.readOnly = false;
    if (chosen) chosen.readOnly = false;
  }

  // The server's answer; after a failed attempt it names the next attempt.
  function takeAnswer(answer, fallback) {
    var body = answer.body;
    if (body.attempt_id) {
      attempt.value = body.attempt_id;
      dropAttempt();
    }
    if (answer.status === 409 && body.status === 'price_changed') takeNewPrice(body);
    if (body.status === 'free') {  // a free download: its link is in the buyer's mail
      showStatus(body.message);
      return null;
    }
    // Paid, being confirmed (Stripe did not answer; its receipt page updates itself) or refunded since: the receipt.
    if ((body.status === 'paid' || body.status === 'pending' || body.status === 'refunded') && body.receipt_url) {
      return goTo(body.receipt_url);
    }
    var message = body.error || fallback ||
      'Something went wrong (error ' + answer.status + '). Nothing was charged. Please try again.';
    if (answer.status === 402) message = 'Your card was not charged. ' + message + ' You can try again, or use another card.';
    showError(message);
    if (body.field === 'email') email.focus();
    if (body.field === 'amount' && chosen) chosen.focus();
    return null;
  }

  function attemptId() {
    if (attempt.value) return Promise.resolve(attempt.value);
    return post(form.getAttribute('data-attempt-url'), null, 'GET').then(function (answer) {
      if (!answer.body.attempt_id) throw new Error('no attempt id');
      attempt.value = answer.body.attempt_id;
      return attempt.value;
    });
  }

  // Stripe's Payment Element for this attempt's PaymentIntent; resolves once it shows the card fields.
  function mount(started) {
    var elements = stripe.elements({ clientSecret: started.client_secret, appearance: APPEARANCE });
    var element = elements.create('payment');
    current = { clientSecret: started.client_secret, confirmUrl: started.confirm_url,
      returnUrl: started.return_url, elements: elements, element: element };
    email.readOnly = true;  // the purchase was recorded with this address
    if (chosen) chosen.readOnly = true;  // and this amount: the PaymentIntent is for it
    step.textContent = STEP_MOUNTED;
    mountLabel.hidden = false;
    mountPoint.hidden = false;
    return new Promise(function (resolve) {
      element.on('ready', function () { resolve(true); });
      element.on('loaderror', function (event) {
        showError('The card form could not load' + (event.error && event.error.message ? ': ' + event.error.message : '.') +
          ' Nothing was charged. Please reload the page.');
        resolve(false);
      });
      element.mount(mountPoint);
    });
  }

  // First Pay: the attempt's pending purchase and PaymentIntent, then its Payment Element.
  function start() {
    return attemptId().then(function (attemptId) {
      var fields = shownPrice();
      fields.attempt_id = attemptId;
      fields.email = email.value.trim();
      return post(form.getAttribute('action'), fields);
    }).then(function (started) {
      if (started.status !== 200 || started.body.status !== 'confirm') return takeAnswer(started);
      return mount(started.body).then(function (ready) {
        if (ready) {
          showError('');
          current.element.focus();
        }
        return null;
      });
    });
  }

  // Pay again: confirm the PaymentIntent in the Payment Element, then let the store settle it.
  function pay() {
    var paying = current;
    return paying.elements.submit().then(function (submitted) {
      if (submitted.error) {
        showError(submitted.error.message);  // nothing reached Stripe: same attempt next time
        return { validation: true };
      }
      return stripe.confirmPayment({
        elements: paying.elements,
        confirmParams: {
          return_url: paying.returnUrl,
          payment_method_data: { billing_details: { email: email.value.trim() } }
        },
        redirect: 'if_required'
      });
    }).then(function (result) {
      if (result.validation) return null;
      var stripeError = result.error;
      if (stripeError && stripeError.type === 'validation_error') {
        // Nothing reached the bank: same attempt, same PaymentIntent next time.
        showError(stripeError.message);
        return null;
      }
      // Paid, declined, or 3-D Secure failed or cancelled: the server checks with Stripe itself.
      return post(paying.confirmUrl).then(function (confirmed) {
        return takeAnswer(confirmed, stripeError && stripeError.message);
      });
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (busy) return;
    showError('');
    if (!email.value.trim() || !email.checkValidity()) {
      showError('Please enter a valid email address for your receipt.');
      email.focus();
      return;
    }
    setBusy(true);
    (current ? pay() : start()).then(function (done) {
      if (done === null) setBusy(false);
    }, function () {
      showError('We could not reach the store. Nothing new was charged; please check your connection and press Pay again.');
      setBusy(false);
    });
  });
})();
