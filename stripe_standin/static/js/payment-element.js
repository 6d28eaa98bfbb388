/*
 * stripe-standin: the Payment Element, in an iframe on the stand-in's origin, so the card never
 * touches the store's page. One method only, "Card" (the stand-in has no wallets and no other
 * methods): number, expiry and security code, checked as the buyer types with Stripe's messages,
 * shown inside the element as the Payment Element shows them.
 *
 * The page's Stripe.js sends the PaymentIntent's client secret once this frame is up; the frame loads
 * the PaymentIntent with it (GET with the publishable key, as Stripe.js does) and shows the fields, or
 * a load error. On the page's request it validates (elements.submit()), or validates and confirms the
 * PaymentIntent itself: POST /v1/payment_intents/{id}/confirm with the publishable key, the client
 * secret, the page's confirmParams and the card inline as payment_method_data, as real Stripe.js
 * sends it, answering the page the HTTP status and body. Messages go to the page's exact origin, and
 * only the page's messages are heeded.
 */
(function () {
  'use strict';

  var started = Date.now();
  var q = new URLSearchParams(window.location.search);
  var key = q.get('key') || '';
  var parentOrigin = /^https?:\/\/[^/\s]+$/.test(q.get('origin') || '') ? q.get('origin') : null;
  var embedded = window.parent !== window;
  var CLIENT_SECRET = /^(pi_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/;

  function $(id) { return document.getElementById(id); }
  var fields = { number: $('number'), exp: $('exp'), cvc: $('cvc') };
  var errorsOf = { number: $('number-error'), exp: $('exp-error'), cvc: $('cvc-error') };
  var touched = {};
  var clientSecret = null;
  var loaded = false;

  // appearance.variables, through CSS custom properties (CSSOM: no inline style element).
  var VARIABLES = { colorPrimary: '--color-primary', colorText: '--color-text', colorDanger: '--color-danger',
    colorBackground: '--color-background', fontSizeBase: '--font-size-base', borderRadius: '--border-radius' };
  Object.keys(VARIABLES).forEach(function (name) {
    if (q.get(name)) document.documentElement.style.setProperty(VARIABLES[name], q.get(name));
  });
  if (q.get('fontFamily')) document.body.style.fontFamily = q.get('fontFamily');

  function post(message) {
    if (embedded && parentOrigin) window.parent.postMessage(message, parentOrigin);
  }

  var lastHeight = 0;
  function reportHeight() {
    var height = Math.ceil(document.documentElement.scrollHeight);
    if (height !== lastHeight) {
      lastHeight = height;
      post({ type: 'stripe-standin:payment-height', height: height });
    }
  }

  // ------------------------------------------------------------ cards (the checks card-element.js makes)

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

  var checks = [['number', numberState], ['exp', expiryState], ['cvc', cvcState]];

  // Shows each field's error under it (an invalid one at once, an incomplete one once the buyer has
  // left it, or all of them when they pay: ``all``); returns the first error shown.
  function showErrors(all) {
    var first = null;
    checks.forEach(function (pair) {
      var name = pair[0];
      var field = fields[name];
      var state = pair[1]();
      var show = state && (state.invalid || all || (touched[name] && document.activeElement !== field));
      field.setAttribute('aria-invalid', show ? 'true' : 'false');
      errorsOf[name].textContent = show ? state.message : '';
      if (show && !first) first = { type: 'validation_error', code: state.code, message: state.message, field: name };
    });
    reportHeight();
    return first;
  }

  function changed(event) {
    showErrors(false);
    var complete = checks.every(function (pair) { return !pair[1](); });
    var empty = !digitsOf(fields.number.value) && !digitsOf(fields.exp.value) && !digitsOf(fields.cvc.value);
    post({ type: 'stripe-standin:payment-change', complete: complete, empty: empty });
    if (!event || event.type !== 'input') return;
    var active = document.activeElement;
    var digits = digitsOf(fields.number.value);
    var usual = { amex: 15, diners: 14 }[brandOf(digits)] || 16;
    if (active === fields.number && !numberState() && digits.length === usual) fields.exp.focus();
    else if (active === fields.exp && !expiryState()) fields.cvc.focus();
  }

  function reformat(input, format, limit) {
    input.addEventListener('input', function (event) {
      var deleting = event.inputType && event.inputType.indexOf('delete') === 0;
      input.value = format(digitsOf(input.value).slice(0, limit()), deleting);
      changed(event);
    });
  }

  reformat(fields.number, formatNumber, function () {
    var b = brandOf(digitsOf(fields.number.value));
    return b === 'amex' ? 15 : b === 'diners' ? 16 : 19;
  });
  reformat(fields.exp, formatExpiry, function () { return 4; });
  reformat(fields.cvc, function (d) { return d; }, function () { return 4; });

  Object.keys(fields).forEach(function (name) {
    var field = fields[name];
    field.addEventListener('focus', function () { post({ type: 'stripe-standin:payment-focus' }); });
    field.addEventListener('blur', function () {
      if (field.value) touched[name] = true;
      post({ type: 'stripe-standin:payment-blur' });
      changed(null);
    });
  });

  function firstInvalidFocus(error) {
    if (error && fields[error.field]) fields[error.field].focus();
  }

  function publicError(error) {
    return { type: error.type, code: error.code, message: error.message };
  }

  // ------------------------------------------------------------ Stripe's API, from this frame

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

  function call(method, path, params) {
    var body = encode(params, '', new URLSearchParams()).toString();
    var init = { method: method, credentials: 'omit' };
    if (method === 'POST') {
      init.headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
      init.body = body;
    }
    return fetch(path + (method === 'GET' ? '?' + body : ''), init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, body: json || {} };
      });
    }, function () {
      return { status: 0, body: { error: { type: 'api_connection_error',
        message: 'We could not reach Stripe (the local stand-in). Please check your connection and try again.' } } };
    });
  }

  function load(secret) {
    var match = CLIENT_SECRET.exec(secret || '');
    if (!match) {
      loadError({ type: 'invalid_request_error', code: 'resource_missing',
        message: 'The Payment Element needs the client secret of a PaymentIntent.' });
      return;
    }
    clientSecret = secret;
    call('GET', '/v1/payment_intents/' + match[1], { key: key, client_secret: secret }).then(function (answer) {
      var types = answer.body.payment_method_types || [];
      if (answer.status !== 200) {
        loadError(answer.body.error || { type: 'api_error', message: 'The PaymentIntent could not be loaded.' });
      } else if (types.indexOf('card') === -1) {
        loadError({ type: 'invalid_request_error', code: 'payment_intent_unexpected_state',
          message: 'This PaymentIntent takes none of the methods the local stand-in has (card only).' });
      } else {
        loaded = true;
        $('loading').hidden = true;
        $('fields').hidden = false;
        reportHeight();
        post({ type: 'stripe-standin:payment-ready' });
      }
    });
  }

  function loadError(error) {
    $('loading').hidden = true;
    $('load-error').textContent = 'The payment form could not load: ' + error.message;
    $('load-error').hidden = false;
    reportHeight();
    post({ type: 'stripe-standin:payment-loaderror', error: publicError(error) });
  }

  function confirm(requestId, secret, confirmParams) {
    function reply(body) {
      body.type = 'stripe-standin:payment-answer';
      body.requestId = requestId;
      post(body);
    }
    var match = CLIENT_SECRET.exec(secret || '');
    if (!loaded || !match || secret !== clientSecret) {
      reply({ error: { type: 'invalid_request_error', code: 'payment_intent_unexpected_state',
        message: 'The Payment Element was not loaded with this PaymentIntent.' } });
      return;
    }
    var invalid = showErrors(true);
    if (invalid) {
      firstInvalidFocus(invalid);
      reply({ error: publicError(invalid) });
      return;
    }
    var params = {};
    Object.keys(confirmParams || {}).forEach(function (k) {
      if (k !== 'payment_method_data') params[k] = confirmParams[k];
    });
    var extra = (confirmParams && typeof confirmParams.payment_method_data === 'object' && confirmParams.payment_method_data) || {};
    var d = digitsOf(fields.exp.value);
    var methodData = {};
    Object.keys(extra).forEach(function (k) { methodData[k] = extra[k]; });
    methodData.type = 'card';
    methodData.card = { number: digitsOf(fields.number.value), cvc: digitsOf(fields.cvc.value),
      exp_month: String(+d.substr(0, 2)), exp_year: String(2000 + (+d.substr(2, 2))) };
    methodData.payment_user_agent = 'stripe-standin; payment-element';
    methodData.time_on_page = String(Date.now() - started);
    params.payment_method_data = methodData;
    params.expected_payment_method_type = 'card';
    params.use_stripe_sdk = 'true';
    params.key = key;
    params.client_secret = secret;
    call('POST', '/v1/payment_intents/' + match[1] + '/confirm', params).then(function (answer) {
      reply({ status: answer.status, body: answer.body });
    });
  }

  // ------------------------------------------------------------ the page's requests

  window.addEventListener('message', function (event) {
    if (!parentOrigin || event.origin !== parentOrigin || event.source !== window.parent) return;
    var data = event.data;
    if (!data || typeof data !== 'object' || typeof data.type !== 'string') return;
    if (data.type === 'stripe-standin:payment-init' && clientSecret === null) {
      load(data.clientSecret);
    } else if (data.type === 'stripe-standin:payment-submit' && typeof data.requestId === 'string') {
      var invalid = loaded ? showErrors(true) : { type: 'validation_error', code: 'incomplete', message: 'The payment form has not loaded yet.' };
      firstInvalidFocus(invalid);
      post({ type: 'stripe-standin:payment-answer', requestId: data.requestId, error: invalid ? publicError(invalid) : null });
    } else if (data.type === 'stripe-standin:payment-confirm' && typeof data.requestId === 'string') {
      confirm(data.requestId, data.clientSecret, data.confirmParams);
    } else if (data.type === 'stripe-standin:focus') {
      fields.number.focus();
    } else if (data.type === 'stripe-standin:blur') {
      if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
    } else if (data.type === 'stripe-standin:clear') {
      Object.keys(fields).forEach(function (k) { fields[k].value = ''; });
      touched = {};
      changed(null);
    } else if (data.type === 'stripe-standin:update' && data.options) {
      Object.keys(fields).forEach(function (k) { fields[k].readOnly = !!data.options.readOnly; });
    }
  });

  if (q.get('readOnly') === 'true') {
    Object.keys(fields).forEach(function (k) { fields[k].readOnly = true; });
  }
  if (!/^pk_(test|live)_\w+/.test(key)) {
    loadError({ type: 'invalid_request_error', message: 'Stripe() needs a publishable key (pk_test_…).' });
  }
  if (window.ResizeObserver) new window.ResizeObserver(reportHeight).observe(document.body);
  reportHeight();
  post({ type: 'stripe-standin:payment-frame-up' });
})();
