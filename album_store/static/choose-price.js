/*
 * Pay what you want with legacy Checkout (store.payment_flow = checkout_js): the custom integration.
 *
 * The album page's amount field (prefilled with the suggested amount) decides what Checkout's window
 * shows and what the form posts. On Buy:
 *   - the typed amount is read as the store will read it (a plain number with at most the currency's
 *     decimals, at least data-minimum; not between 0 and Stripe's smallest charge), so a mistake is
 *     said here before any card is asked for (the store checks it again and explains a refusal);
 *   - 0, where the minimum is 0, submits the form as it is: a free download, no card and no Stripe;
 *   - any other amount opens StripeCheckout.configure({key, image, locale, token}).open({name,
 *     description, amount, currency, email}); the token comes back into the form (stripeToken,
 *     stripeTokenType, stripeEmail), which is submitted with the typed amount, and the store charges
 *     exactly that amount (the token itself carries none). The field is read-only while Checkout's
 *     window is open, so the amount it shows is the amount posted.
 * Loaded as a file (the store's Content-Security-Policy allows no inline script).
 */
(function () {
  'use strict';

  var form = document.getElementById('choose-price');
  if (!form) return;
  var input = document.getElementById('chosen-amount');
  var errors = document.getElementById('choose-errors');
  var button = document.getElementById('choose-pay');
  var digits = parseInt(form.getAttribute('data-digits'), 10);
  var minimum = parseInt(form.getAttribute('data-minimum'), 10);
  var chargeMinimum = parseInt(form.getAttribute('data-charge-minimum'), 10);
  var submitting = false;
  var handler = null;

  // "12.5" -> 1250 (two decimals), or null for anything but a plain amount the currency can express.
  function toMinor(text) {
    var match = /^([0-9]{1,9})(?:\.([0-9]+))?$/.exec(text.trim());
    if (!match) return null;
    var fraction = match[2] || '';
    if (fraction.length > digits) return null;
    while (fraction.length < digits) fraction += '0';
    return parseInt(match[1] + fraction, 10);
  }

  function refuse(event, message, field) {
    event.preventDefault();
    errors.textContent = message;
    (field || input).focus();
  }

  function hidden(name, value) {
    var field = form.querySelector('input[type="hidden"][name="' + name + '"]');
    if (!field) {
      field = document.createElement('input');
      field.type = 'hidden';
      field.name = name;
      form.appendChild(field);
    }
    field.value = value == null ? '' : String(value);
  }

  function checkout() {
    if (handler || typeof window.StripeCheckout !== 'object' || !window.StripeCheckout) return handler;
    handler = window.StripeCheckout.configure({
      key: form.getAttribute('data-key'),
      image: form.getAttribute('data-image'),
      locale: 'auto',
      token: function (token) {
        if (submitting) return;
        submitting = true;
        input.readOnly = true;
        button.disabled = true;
        hidden('stripeToken', token.id);
        hidden('stripeTokenType', token.type || 'card');
        hidden('stripeEmail', token.email || '');
        HTMLFormElement.prototype.submit.call(form);
      }
    });
    return handler;
  }

  form.addEventListener('submit', function (event) {
    // Looked up now: on the shared page, static/personal.js removes it for a signed-in buyer.
    var emailInput = document.getElementById('free-email');
    errors.textContent = '';
    if (submitting) { event.preventDefault(); return; }
    var amount = toMinor(input.value);
    if (amount === null) {
      return refuse(event, 'Enter the amount as a plain number' + (digits ? ', with at most ' + digits + ' decimals.' : ', with no decimals.'));
    }
    if (amount < minimum) {
      return refuse(event, 'The least you can pay for this album is ' + form.getAttribute('data-minimum-label') + '.');
    }
    if (amount === 0) {
      // A free download: the form goes as it is (the store mails the link that confirms the address).
      if (emailInput && !emailInput.value.trim()) {
        return refuse(event, 'Enter your email address: the free download\'s link goes there.', emailInput);
      }
      submitting = true;
      return;
    }
    event.preventDefault();
    if (chargeMinimum && amount < chargeMinimum) {
      return refuse(event, 'Stripe\'s smallest charge is ' + form.getAttribute('data-charge-minimum-label') +
        ': pay at least that' + (minimum === 0 ? ', or 0 for a free download.' : '.'));
    }
    var checkoutHandler = checkout();
    if (!checkoutHandler) {
      errors.textContent = 'The card checkout could not load, so nothing was charged. Please check your connection and reload the page.';
      return;
    }
    var email = form.getAttribute('data-email') || (emailInput ? emailInput.value.trim() : '');
    var options = {
      name: form.getAttribute('data-name'),
      description: form.getAttribute('data-description'),
      amount: amount,
      currency: form.getAttribute('data-currency'),
      closed: function () { if (!submitting) input.readOnly = false; }
    };
    if (email) options.email = email;
    input.readOnly = true;  // what Checkout shows is what the form posts
    checkoutHandler.open(options);
  });
})();
