/*
 * stripe-standin: the legacy Checkout modal, running in an iframe on the
 * stand-in's origin. Validates the card like a shopper expects, tokenizes it
 * with the publishable key at this origin's /v1/tokens, and sends
 * {type: "stripe-standin:token", token: {id, type: "card", email, ...}} to
 * the parent page, with the parent's exact origin as targetOrigin.
 */
(function () {
  'use strict';

  var q = new URLSearchParams(window.location.search);
  var opt = {
    key: q.get('key') || '',
    amount: q.get('amount'),
    currency: (q.get('currency') || 'usd').toLowerCase(),
    name: q.get('name') || '',
    description: q.get('description') || '',
    image: q.get('image') || '',
    locale: q.get('locale') || 'auto',
    email: q.get('email') || '',
    panelLabel: q.get('panelLabel') || 'Pay {{amount}}',
    zipCode: q.get('zipCode') === 'true',
    origin: q.get('origin') || ''
  };
  var embedded = window.parent !== window;
  var parentOrigin = /^https?:\/\/[^/\s]+$/.test(opt.origin) ? opt.origin : null;

  var ZERO_DECIMAL = ['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga',
    'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf'];
  var THREE_DECIMAL = ['bhd', 'jod', 'kwd', 'omr', 'tnd'];

  function $(id) { return document.getElementById(id); }

  function locale() {
    if (opt.locale && opt.locale !== 'auto') return opt.locale;
    return navigator.language || 'en-US';
  }

  function formatAmount(amount, currency) {
    var digits = ZERO_DECIMAL.indexOf(currency) !== -1 ? 0
      : THREE_DECIMAL.indexOf(currency) !== -1 ? 3 : 2;
    var value = amount / Math.pow(10, digits);
    try {
      return new Intl.NumberFormat(locale(), {
        style: 'currency', currency: currency.toUpperCase(),
        minimumFractionDigits: digits, maximumFractionDigits: digits
      }).format(value);
    } catch (e) {
      return value.toFixed(digits) + ' ' + currency.toUpperCase();
    }
  }

  // ------------------------------------------------------------ cards

  function brandOf(digits) {
    if (/^4/.test(digits)) return 'visa';
    if (/^3[47]/.test(digits)) return 'amex';
    if (/^(5[1-5]|2(2[2-9]|[3-6]\d|7[01]|720))/.test(digits)) return 'mastercard';
    if (/^(6011|65|64[4-9])/.test(digits)) return 'discover';
    if (/^35(2[89]|[3-8])/.test(digits)) return 'jcb';
    if (/^(36|38|39|30[0-5])/.test(digits)) return 'diners';
    if (/^(62|81)/.test(digits)) return 'unionpay';
    return 'unknown';
  }

  function maxLength(brand) {
    if (brand === 'amex') return 15;
    if (brand === 'diners') return 16;
    return 19;
  }

  function validLengths(brand) {
    if (brand === 'amex') return [15];
    if (brand === 'diners') return [14, 16];
    if (brand === 'visa') return [13, 16, 19];
    return [16, 17, 18, 19];
  }

  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = +digits.charAt(digits.length - 1 - i);
      if (i % 2) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }

  function digitsOf(s) { return (s || '').replace(/\D/g, ''); }

  function formatNumber(digits) {
    var groups = brandOf(digits) === 'amex' ? [4, 6, 5] : [4, 4, 4, 4, 3];
    var out = [];
    var pos = 0;
    for (var i = 0; i < groups.length && pos < digits.length; i++) {
      out.push(digits.substr(pos, groups[i]));
      pos += groups[i];
    }
    return out.join(' ');
  }

  function formatExpiry(digits, deleting) {
    if (digits.length === 1 && +digits > 1) digits = '0' + digits;
    if (digits.length < 2) return digits;
    if (digits.length === 2) return deleting ? digits : digits + ' / ';
    return digits.substr(0, 2) + ' / ' + digits.substr(2, 2);
  }

  // Reformat a field as the shopper types, keeping the caret after the same
  // number of digits.
  function reformat(input, format, limit) {
    input.addEventListener('input', function (event) {
      var before = digitsOf(input.value.slice(0, input.selectionStart || 0)).length;
      var digits = digitsOf(input.value).slice(0, limit());
      var deleting = event.inputType && event.inputType.indexOf('delete') === 0;
      var formatted = format(digits, deleting);
      input.value = formatted;
      var caret = formatted.length;
      if (before < digits.length) {
        var seen = 0;
        for (var i = 0; i < formatted.length; i++) {
          if (/\d/.test(formatted.charAt(i))) seen++;
          if (seen === before) { caret = i + 1; break; }
        }
        if (before === 0) caret = 0;
      }
      try { input.setSelectionRange(caret, caret); } catch (e) { /* ignore */ }
      clearError(input);
    });
  }

  // ------------------------------------------------------------ validation

  var fields = {
    email: $('sc-email'), number: $('sc-number'), exp: $('sc-exp'),
    cvc: $('sc-cvc'), zip: $('sc-zip')
  };

  function setError(input, message) {
    var el = $(input.id + '-error');
    el.textContent = message || '';
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  function clearError(input) {
    if (input.getAttribute('aria-invalid') === 'true') setError(input, '');
  }

  function checkEmail() {
    var v = fields.email.value.trim();
    if (!v) return 'Please enter your email address.';
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/.test(v)) return 'Please enter a valid email address.';
    return '';
  }

  function checkNumber() {
    var d = digitsOf(fields.number.value);
    if (!d) return 'Please enter your card number.';
    var brand = brandOf(d);
    if (d.length < Math.min.apply(null, validLengths(brand))) return 'Your card number is incomplete.';
    if (validLengths(brand).indexOf(d.length) === -1 || !luhn(d)) return 'Your card number is invalid.';
    return '';
  }

  function parseExpiry() {
    var d = digitsOf(fields.exp.value);
    return { complete: d.length === 4, month: +d.substr(0, 2), year: 2000 + (+d.substr(2, 2)) };
  }

  function checkExpiry() {
    var e = parseExpiry();
    if (!digitsOf(fields.exp.value)) return 'Please enter the expiry date.';
    if (e.month < 1 || e.month > 12) return "Your card's expiration month is invalid.";
    if (!e.complete) return "Your card's expiration date is incomplete.";
    var now = new Date();
    var y = now.getFullYear();
    var m = now.getMonth() + 1;
    if (e.year < y || (e.year === y && e.month < m)) return "Your card's expiration date is in the past.";
    if (e.year > y + 50) return "Your card's expiration year is invalid.";
    return '';
  }

  function cvcLength() {
    return brandOf(digitsOf(fields.number.value)) === 'amex' ? 4 : 3;
  }

  function checkCvc() {
    var d = digitsOf(fields.cvc.value);
    if (!d) return "Please enter your card's security code.";
    if (d.length < cvcLength()) return "Your card's security code is incomplete.";
    if (d.length > cvcLength()) return "Your card's security code is invalid.";
    return '';
  }

  function checkZip() {
    if (!opt.zipCode) return '';
    return fields.zip.value.trim() ? '' : 'Please enter your ZIP or postal code.';
  }

  var checks = [
    [fields.email, checkEmail], [fields.number, checkNumber],
    [fields.exp, checkExpiry], [fields.cvc, checkCvc], [fields.zip, checkZip]
  ];

  checks.forEach(function (pair) {
    pair[0].addEventListener('blur', function () {
      if (pair[0].value && !pair[0].readOnly) setError(pair[0], pair[1]());
    });
  });

  function validateAll() {
    var first = null;
    checks.forEach(function (pair) {
      if (pair[0] === fields.email && fields.email.readOnly) return;
      var message = pair[1]();
      setError(pair[0], message);
      if (message && !first) first = pair[0];
    });
    return first;
  }

  // ------------------------------------------------------------ page setup

  $('sc-name').textContent = opt.name || 'Pay with card';
  if (opt.description) {
    $('sc-description').textContent = opt.description;
    $('sc-description').hidden = false;
  }
  var amount = parseInt(opt.amount, 10);
  var amountText = '';
  if (!isNaN(amount) && amount >= 0) {
    amountText = formatAmount(amount, opt.currency);
    $('sc-amount').textContent = amountText;
    $('sc-amount').hidden = false;
  }
  var payLabel = opt.panelLabel.replace(/\{\{\s*amount\s*\}\}/g, amountText).replace(/\s+/g, ' ').trim() || 'Pay';
  var payButton = $('sc-pay');
  payButton.textContent = payLabel;
  if (/^https?:\/\//.test(opt.image)) {
    var img = $('sc-image');
    img.addEventListener('error', function () { img.hidden = true; });
    img.src = opt.image;
    img.hidden = false;
  }
  if (opt.email) {
    fields.email.value = opt.email;
    fields.email.readOnly = true;
  }
  if (opt.zipCode) $('sc-zip-field').hidden = false;
  document.title = (opt.name ? opt.name + ' — ' : '') + 'Pay with card (local test checkout)';

  reformat(fields.number, function (d) { return formatNumber(d); },
    function () { return maxLength(brandOf(digitsOf(fields.number.value))); });
  reformat(fields.exp, formatExpiry, function () { return 4; });
  reformat(fields.cvc, function (d) { return d; }, function () { return 4; });

  var formError = $('sc-form-error');
  if (!/^pk_test_\w+/.test(opt.key)) {
    formError.textContent = /^sk_/.test(opt.key)
      ? 'data-key is a secret key: Checkout needs the publishable key (pk_test_…).'
      : 'This local test checkout needs a publishable test key (data-key="pk_test_…").';
  } else if (embedded && !parentOrigin) {
    formError.textContent = 'Open the store over http(s): this checkout cannot answer a page without an origin.';
  }

  // ------------------------------------------------------------ closing

  function post(message) {
    if (embedded && parentOrigin) window.parent.postMessage(message, parentOrigin);
  }

  var busy = false;
  function close() {
    if (!busy) post({ type: 'stripe-standin:close' });
  }
  $('sc-close').addEventListener('click', close);
  $('sc-backdrop').addEventListener('click', close);

  var dialog = $('sc-dialog');
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' || event.key === 'Esc') {
      event.preventDefault();
      close();
    } else if (event.key === 'Tab') {
      // Keep the focus inside the dialog.
      var items = Array.prototype.filter.call(
        dialog.querySelectorAll('button, input'),
        function (el) { return !el.disabled && el.offsetParent !== null; });
      if (!items.length) return;
      var first = items[0];
      var last = items[items.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault(); last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault(); first.focus();
      }
    }
  });

  // ------------------------------------------------------------ paying

  var FIELD_FOR_PARAM = { number: fields.number, exp_month: fields.exp, exp_year: fields.exp, cvc: fields.cvc };

  function tokenize() {
    var exp = parseExpiry();
    var body = new URLSearchParams();
    body.set('key', opt.key);
    body.set('card[number]', digitsOf(fields.number.value));
    body.set('card[exp_month]', String(exp.month));
    body.set('card[exp_year]', String(exp.year));
    body.set('card[cvc]', digitsOf(fields.cvc.value));
    if (opt.zipCode) body.set('card[address_zip]', fields.zip.value.trim());
    body.set('email', fields.email.value.trim());
    body.set('payment_user_agent', 'stripe-standin checkout');
    return fetch('/v1/tokens', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
      credentials: 'omit'
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) {
          var err = (json && json.error) || {};
          var e = new Error(err.message || ('Tokenization failed (HTTP ' + response.status + ').'));
          e.param = err.param;
          throw e;
        }
        return json;
      });
    });
  }

  $('sc-form').addEventListener('submit', function (event) {
    event.preventDefault();
    if (busy) return;
    formError.textContent = '';
    if (!/^pk_test_\w+/.test(opt.key)) {
      formError.textContent = 'This local test checkout needs a publishable test key (data-key="pk_test_…").';
      return;
    }
    var invalid = validateAll();
    if (invalid) { invalid.focus(); return; }
    busy = true;
    payButton.disabled = true;
    payButton.textContent = 'Processing…';
    tokenize().then(function (token) {
      payButton.textContent = '✓ Paid';
      payButton.classList.add('done');
      var card = token.card || {};
      var message = {
        type: 'stripe-standin:token',
        token: {
          id: token.id, object: 'token', type: 'card',
          email: fields.email.value.trim(), created: token.created,
          livemode: false, used: false, client_ip: token.client_ip || null,
          card: {
            id: card.id, object: 'card', brand: card.brand, last4: card.last4,
            exp_month: card.exp_month, exp_year: card.exp_year,
            funding: card.funding, country: card.country,
            address_zip: card.address_zip || null
          }
        }
      };
      if (embedded && parentOrigin) {
        post(message);
      } else {
        formError.textContent = 'Token ' + token.id + ' created (no store page to send it to).';
      }
    }).catch(function (error) {
      busy = false;
      payButton.disabled = false;
      payButton.textContent = payLabel;
      var field = FIELD_FOR_PARAM[error.param];
      if (field) {
        setError(field, error.message);
        field.focus();
      } else {
        formError.textContent = error.message || 'Something went wrong. Please try again.';
      }
    });
  });

  // Focus the first field the shopper has to fill (again when the parent
  // page hands the focus to this frame, if nothing here has it yet).
  function focusFirst() {
    (fields.email.readOnly ? fields.number : fields.email).focus();
  }
  focusFirst();
  window.addEventListener('focus', function () {
    if (!document.activeElement || document.activeElement === document.body) focusFirst();
  });
  post({ type: 'stripe-standin:ready' });
})();
