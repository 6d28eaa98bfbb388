/*
 * stripe-standin: the card Element, running in an iframe on the stand-in's origin, so the card
 * number never touches the store's page. Formats and checks the card as the shopper types, tells the
 * page (Stripe.js) {complete, empty, brand, error} on each change, and on the page's request makes a
 * PaymentMethod at this origin's /v1/payment_methods with the publishable key, answering only its id.
 * Messages go to the page's exact origin, and only the page's messages are heeded.
 */
(function () {
  'use strict';

  var q = new URLSearchParams(window.location.search);
  var key = q.get('key') || '';
  var parentOrigin = /^https?:\/\/[^/\s]+$/.test(q.get('origin') || '') ? q.get('origin') : null;
  var embedded = window.parent !== window;

  function $(id) { return document.getElementById(id); }
  var fields = { number: $('number'), exp: $('exp'), cvc: $('cvc'), postal: $('postal') };
  var showPostal = q.get('hidePostalCode') !== 'true';
  fields.postal.hidden = !showPostal;
  if (q.get('fontSize')) document.body.style.fontSize = q.get('fontSize');
  if (q.get('color')) document.body.style.color = q.get('color');
  var touched = {};

  function post(message) {
    if (embedded && parentOrigin) window.parent.postMessage(message, parentOrigin);
  }

  // ------------------------------------------------------------ cards

  function digitsOf(s) { return (s || '').replace(/\D/g, ''); }

  function brandOf(d) {
    if (/^4/.test(d)) return 'visa';
    if (/^3[47]/.test(d)) return 'amex';
    if (/^(5[1-5]|2(2[2-9]|[3-6]\d|7[01]|720))/.test(d)) return 'mastercard';
    if (/^(6011|65|64[4-9])/.test(d)) return 'discover';
    if (/^35(2[89]|[3-8])/.test(d)) return 'jcb';
    if (/^(36|38|39|30[0-5])/.test(d)) return 'diners';
    if (/^(62|81)/.test(d)) return 'unionpay';
    return 'unknown';
  }

  function lengths(brand) {
    if (brand === 'amex') return [15];
    if (brand === 'diners') return [14, 16];
    if (brand === 'visa') return [16, 19];
    return [16, 17, 18, 19];
  }

  function luhn(d) {
    var sum = 0;
    for (var i = 0; i < d.length; i++) {
      var n = +d.charAt(d.length - 1 - i);
      if (i % 2) { n *= 2; if (n > 9) n -= 9; }
      sum += n;
    }
    return sum % 10 === 0;
  }

  function formatNumber(d) {
    var groups = brandOf(d) === 'amex' ? [4, 6, 5] : [4, 4, 4, 4, 3];
    var out = [];
    var pos = 0;
    for (var i = 0; i < groups.length && pos < d.length; i++) {
      out.push(d.substr(pos, groups[i]));
      pos += groups[i];
    }
    return out.join(' ');
  }

  function formatExpiry(d, deleting) {
    if (d.length === 1 && +d > 1) d = '0' + d;
    if (d.length < 2) return d;
    if (d.length === 2) return deleting ? d : d + ' / ';
    return d.substr(0, 2) + ' / ' + d.substr(2, 2);
  }

  function reformat(input, format, limit) {
    input.addEventListener('input', function (event) {
      var deleting = event.inputType && event.inputType.indexOf('delete') === 0;
      var digits = digitsOf(input.value).slice(0, limit());
      input.value = format(digits, deleting);
      changed(event);
    });
  }

  reformat(fields.number, formatNumber, function () {
    var b = brandOf(digitsOf(fields.number.value));
    return b === 'amex' ? 15 : b === 'diners' ? 16 : 19;
  });
  reformat(fields.exp, formatExpiry, function () { return 4; });
  reformat(fields.cvc, function (d) { return d; }, function () { return 4; });
  fields.postal.addEventListener('input', changed);

  // ------------------------------------------------------------ checks (Stripe's messages)

  function numberState() {
    var d = digitsOf(fields.number.value);
    if (!d) return { code: 'incomplete_number', message: 'Your card number is incomplete.', empty: true };
    var ok = lengths(brandOf(d));
    if (ok.indexOf(d.length) !== -1 && luhn(d)) return null;
    if (d.length >= Math.max.apply(null, ok) || (ok.indexOf(d.length) !== -1 && d.length >= 16)) {
      return { code: 'invalid_number', message: 'Your card number is invalid.', invalid: true };
    }
    return { code: 'incomplete_number', message: 'Your card number is incomplete.' };
  }

  function expiryState() {
    var d = digitsOf(fields.exp.value);
    if (!d) return { code: 'incomplete_expiry', message: "Your card's expiration date is incomplete.", empty: true };
    var month = +d.substr(0, 2);
    if (d.length >= 2 && (month < 1 || month > 12)) {
      return { code: 'invalid_expiry_month', message: "Your card's expiration date is invalid.", invalid: true };
    }
    if (d.length < 4) return { code: 'incomplete_expiry', message: "Your card's expiration date is incomplete." };
    var year = 2000 + (+d.substr(2, 2));
    var now = new Date();
    if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
      return { code: 'invalid_expiry_year_past', message: "Your card's expiration year is in the past.", invalid: true };
    }
    if (year > now.getFullYear() + 50) {
      return { code: 'invalid_expiry_year', message: "Your card's expiration year is invalid.", invalid: true };
    }
    return null;
  }

  function cvcState() {
    var d = digitsOf(fields.cvc.value);
    var wanted = brandOf(digitsOf(fields.number.value)) === 'amex' ? 4 : 3;
    if (!d) return { code: 'incomplete_cvc', message: "Your card's security code is incomplete.", empty: true };
    if (d.length < wanted) return { code: 'incomplete_cvc', message: "Your card's security code is incomplete." };
    if (d.length > wanted) return { code: 'invalid_cvc', message: "Your card's security code is invalid.", invalid: true };
    return null;
  }

  function postalState() {
    if (!showPostal || fields.postal.value.trim()) return null;
    return { code: 'incomplete_zip', message: 'Your postal code is incomplete.', empty: true };
  }

  var checks = [[fields.number, numberState], [fields.exp, expiryState], [fields.cvc, cvcState],
    [fields.postal, postalState]];

  // The first error the shopper should see: an invalid field at once, an incomplete one once they
  // have left it (or when they pay: ``all``).
  function currentError(all) {
    for (var i = 0; i < checks.length; i++) {
      var state = checks[i][1]();
      var field = checks[i][0];
      var show = state && (state.invalid || all || (touched[field.id] && document.activeElement !== field));
      field.setAttribute('aria-invalid', show ? 'true' : 'false');
      if (show) return { type: 'validation_error', code: state.code, message: state.message, field: field };
    }
    return null;
  }

  function changed(event) {
    var error = currentError(false);
    var complete = checks.every(function (pair) { return !pair[1](); });
    var empty = !digitsOf(fields.number.value) && !digitsOf(fields.exp.value) && !digitsOf(fields.cvc.value) &&
      !fields.postal.value.trim();
    post({
      type: 'stripe-standin:card-change', complete: complete, empty: empty,
      brand: brandOf(digitsOf(fields.number.value)),
      error: error ? { type: error.type, code: error.code, message: error.message } : null,
      postalCode: showPostal ? fields.postal.value.trim() : ''
    });
    // Move on when a field is done (a card number at its usual length), as Stripe's Element does.
    if (!event || event.type !== 'input') return;
    var active = document.activeElement;
    var digits = digitsOf(fields.number.value);
    var usual = { amex: 15, diners: 14 }[brandOf(digits)] || 16;
    if (active === fields.number && !numberState() && digits.length === usual) fields.exp.focus();
    else if (active === fields.exp && !expiryState()) fields.cvc.focus();
    else if (active === fields.cvc && !cvcState() && showPostal) fields.postal.focus();
  }

  Object.keys(fields).forEach(function (name) {
    var field = fields[name];
    field.addEventListener('focus', function () { post({ type: 'stripe-standin:card-focus' }); });
    field.addEventListener('blur', function () {
      if (field.value) touched[field.id] = true;
      post({ type: 'stripe-standin:card-blur' });
      changed(null);
    });
  });

  // ------------------------------------------------------------ the PaymentMethod

  function encode(params, prefix, out) {
    Object.keys(params).forEach(function (k) {
      var value = params[k];
      var name = prefix ? prefix + '[' + k + ']' : k;
      if (value === undefined || value === null || value === '') return;
      if (typeof value === 'object') encode(value, name, out);
      else out.append(name, String(value));
    });
    return out;
  }

  function createPaymentMethod(requestId, billingDetails) {
    function reply(body) {
      body.type = 'stripe-standin:payment-method';
      body.requestId = requestId;
      post(body);
    }
    var invalid = currentError(true);
    if (invalid) {
      reply({ error: { type: invalid.type, code: invalid.code, message: invalid.message } });
      return;
    }
    var d = digitsOf(fields.exp.value);
    var billing = {};
    if (billingDetails && typeof billingDetails === 'object') {
      ['email', 'name', 'phone'].forEach(function (k) {
        if (typeof billingDetails[k] === 'string') billing[k] = billingDetails[k];
      });
    }
    if (showPostal) billing.address = { postal_code: fields.postal.value.trim() };
    var body = encode({
      key: key, type: 'card', payment_user_agent: 'stripe-standin card Element',
      card: { number: digitsOf(fields.number.value), exp_month: String(+d.substr(0, 2)),
        exp_year: String(2000 + (+d.substr(2, 2))), cvc: digitsOf(fields.cvc.value) },
      billing_details: billing
    }, '', new URLSearchParams());
    fetch('/v1/payment_methods', {
      method: 'POST', credentials: 'omit',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: body.toString()
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok || !json.id) {
          reply({ error: (json && json.error) || { type: 'api_error', message: 'The card could not be checked (HTTP ' + response.status + ').' } });
          return;
        }
        var card = json.card || {};
        reply({ paymentMethod: { id: json.id, object: 'payment_method', type: 'card',
          card: { brand: card.brand, last4: card.last4, exp_month: card.exp_month, exp_year: card.exp_year },
          billing_details: json.billing_details } });
      });
    }, function () {
      reply({ error: { type: 'api_connection_error', message: 'We could not reach Stripe (the local stand-in).' } });
    });
  }

  // ------------------------------------------------------------ the page's requests

  window.addEventListener('message', function (event) {
    if (!parentOrigin || event.origin !== parentOrigin || event.source !== window.parent) return;
    var data = event.data;
    if (!data || typeof data !== 'object' || typeof data.type !== 'string') return;
    if (data.type === 'stripe-standin:create-payment-method' && typeof data.requestId === 'string') {
      createPaymentMethod(data.requestId, data.billingDetails);
    } else if (data.type === 'stripe-standin:focus') {
      fields.number.focus();
    } else if (data.type === 'stripe-standin:blur') {
      if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
    } else if (data.type === 'stripe-standin:clear') {
      Object.keys(fields).forEach(function (k) { fields[k].value = ''; });
      touched = {};
      changed(null);
    } else if (data.type === 'stripe-standin:update' && data.options) {
      Object.keys(fields).forEach(function (k) { fields[k].disabled = !!data.options.disabled; });
    }
  });

  if (q.get('disabled') === 'true') {
    Object.keys(fields).forEach(function (k) { fields[k].disabled = true; });
  }
  if (!/^pk_(test|live)_\w+/.test(key)) {
    fields.number.placeholder = 'Stripe() needs a publishable key (pk_test_…)';
  }
  post({ type: 'stripe-standin:card-ready' });
  post({ type: 'stripe-standin:card-height', height: Math.ceil(document.documentElement.scrollHeight) });
})();
