/*
 * The album page's card payment (store.payment_flow = payment_intents).
 *
 * Mounts Stripe.js's card Element in #card-element; on Pay:
 *   0. the first time: GET this page's attempt id from the store (data-attempt-url; the page itself
 *      is cached for every visitor, so it cannot carry one);
 *   1. POST {attempt_id, email, shown_amount, shown_currency} to the form's action (the last two: the
 *      price this page shows, from the form's data-amount and data-currency): the server records a
 *      pending purchase and answers its PaymentIntent's client secret (the same one for the same
 *      attempt id, so a double click or a retry never makes a second PaymentIntent). If the price
 *      changed since the page was opened, it charges nothing and answers 409 with the new price: the
 *      page shows it (message, price, Pay button) and the next Pay is for it, without reloading;
 *   2. stripe.confirmCardPayment(client secret, card): Stripe shows the bank's 3-D Secure check when
 *      the card needs it;
 *   3. POST to the confirm address: the server asks Stripe how the PaymentIntent ended and answers
 *      the receipt's address, or a message for the buyer (then, after a failed attempt, the attempt
 *      id of the next one).
 * Errors are shown beside the card field and the buyer can try again without reloading.
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

  if (typeof window.Stripe !== 'function' || typeof window.fetch !== 'function') {
    showStatus('The card form could not load, so you cannot pay right now. Please check your connection and reload the page.');
    return;
  }

  var errors = document.getElementById('card-errors');
  var button = document.getElementById('card-pay');
  var email = document.getElementById('card-email');
  var csrfInput = form.querySelector('input[name="csrf_token"]');
  var priceLabels = document.querySelectorAll('.buy-box__price');
  var attempt = { value: null };  // this page's checkout attempt, once the store has named it
  var payLabel = button.textContent;
  var cardComplete = false;
  var busy = false;

  var stripe;
  try {
    stripe = window.Stripe(form.getAttribute('data-key'));
  } catch (error) {
    showStatus('The card form could not load: ' + error.message);
    return;
  }
  var card = stripe.elements().create('card', {
    hidePostalCode: true,
    style: { base: { fontSize: '16px', color: '#1f1b18' }, invalid: { color: '#b3261e' } }
  });
  card.mount('#card-element');
  card.on('change', function (event) {
    cardComplete = !!event.complete;
    showError(event.error ? event.error.message : '');
  });
  card.on('ready', function () {
    button.disabled = false;
  });
  form.hidden = false;

  function showError(text) {
    errors.textContent = text || '';
  }

  function setBusy(on) {
    busy = on;
    button.disabled = on;
    button.textContent = on ? 'Paying…' : payLabel;
    card.update({ disabled: on });
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
    return { shown_amount: parseInt(form.getAttribute('data-amount'), 10), shown_currency: form.getAttribute('data-currency') };
  }

  // The price changed since the page was opened (409 price_changed): show the new one everywhere on
  // the page, so the next Pay is for it (with the new attempt id the answer names).
  function takeNewPrice(body) {
    form.setAttribute('data-amount', String(body.amount));
    form.setAttribute('data-currency', body.currency);
    payLabel = 'Pay ' + body.price_label;
    for (var i = 0; i < priceLabels.length; i++) priceLabels[i].textContent = body.price_label;
  }

  // The server's answer after a failed attempt names the next attempt.
  function takeAnswer(answer, fallback) {
    var body = answer.body;
    if (body.attempt_id) attempt.value = body.attempt_id;
    if (answer.status === 409 && body.status === 'price_changed') takeNewPrice(body);
    // Paid, being confirmed (Stripe did not answer; its receipt page updates itself) or refunded since: the receipt.
    if ((body.status === 'paid' || body.status === 'pending' || body.status === 'refunded') && body.receipt_url) {
      return goTo(body.receipt_url);
    }
    var message = body.error || fallback ||
      'Something went wrong (error ' + answer.status + '). Nothing was charged. Please try again.';
    if (answer.status === 402) message = 'Your card was not charged. ' + message + ' You can try again, or use another card.';
    showError(message);
    if (body.field === 'email') email.focus();
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

  function pay() {
    return attemptId().then(function (attemptId) {
      var fields = shownPrice();
      fields.attempt_id = attemptId;
      fields.email = email.value.trim();
      return post(form.getAttribute('action'), fields);
    }).then(function (started) {
        if (started.status !== 200 || started.body.status !== 'confirm') return takeAnswer(started);
        var confirmUrl = started.body.confirm_url;
        return stripe.confirmCardPayment(started.body.client_secret, {
          payment_method: { card: card, billing_details: { email: email.value.trim() } }
        }).then(function (result) {
          var stripeError = result.error;
          if (stripeError && stripeError.type === 'validation_error') {
            // Nothing reached the bank: same attempt, same PaymentIntent next time.
            showError(stripeError.message);
            return null;
          }
          // Paid, declined, or 3-D Secure failed or cancelled: the server checks with Stripe itself.
          return post(confirmUrl).then(function (confirmed) {
            return takeAnswer(confirmed, stripeError && stripeError.message);
          });
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
    if (!cardComplete) {
      showError('Please enter your card number, its expiry date and its security code.');
      card.focus();
      return;
    }
    setBusy(true);
    pay().then(function (done) {
      if (done === null) setBusy(false);
    }, function () {
      showError('We could not reach the store. Nothing new was charged; please check your connection and press Pay again.');
      setBusy(false);
    });
  });
})();
