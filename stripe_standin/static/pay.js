/*
 * stripe-standin: the hosted payment page's optional script. The page works without it (a plain
 * form post, checked on the server with the same messages); with it the card fields are formatted
 * as the buyer types and checked as the checkout.js modal checks them before the form is sent.
 */
(function () {
  'use strict';
  var form = document.getElementById('cs-pay-form');
  if (!form) return;
  function $(id) { return document.getElementById(id); }
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
  function validLengths(b) {
    if (b === 'amex') return [15];
    if (b === 'diners') return [14, 16];
    if (b === 'visa') return [13, 16, 19];
    return [16, 17, 18, 19];
  }
  function maxLength(b) { return b === 'amex' ? 15 : b === 'diners' ? 16 : 19; }
  function luhn(d) {
    var sum = 0;
    for (var i = 0; i < d.length; i++) {
      var n = +d.charAt(d.length - 1 - i);
      if (i % 2) { n *= 2; if (n > 9) n -= 9; }
      sum += n;
    }
    return sum % 10 === 0;
  }
  var f = { email: $('cs-email'), number: $('cs-number'), exp: $('cs-exp'), cvc: $('cs-cvc') };
  function checkEmail() {
    var v = f.email.value.trim();
    if (!v) return 'Please enter your email address.';
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/.test(v)) return 'Please enter a valid email address.';
    return '';
  }
  function checkNumber() {
    var d = digitsOf(f.number.value);
    if (!d) return 'Please enter your card number.';
    var b = brandOf(d);
    if (d.length < Math.min.apply(null, validLengths(b))) return 'Your card number is incomplete.';
    if (validLengths(b).indexOf(d.length) === -1 || !luhn(d)) return 'Your card number is invalid.';
    return '';
  }
  function checkExpiry() {
    var d = digitsOf(f.exp.value);
    if (!d) return 'Please enter the expiry date.';
    var m = +d.substr(0, 2), y = 2000 + (+d.substr(2, 2));
    if (m < 1 || m > 12) return "Your card's expiration month is invalid.";
    if (d.length !== 4) return "Your card's expiration date is incomplete.";
    var now = new Date(), ny = now.getFullYear(), nm = now.getMonth() + 1;
    if (y < ny || (y === ny && m < nm)) return "Your card's expiration date is in the past.";
    if (y > ny + 50) return "Your card's expiration year is invalid.";
    return '';
  }
  function checkCvc() {
    var d = digitsOf(f.cvc.value), want = brandOf(digitsOf(f.number.value)) === 'amex' ? 4 : 3;
    if (!d) return "Please enter your card's security code.";
    if (d.length < want) return "Your card's security code is incomplete.";
    if (d.length > want) return "Your card's security code is invalid.";
    return '';
  }
  function setError(input, message) {
    $(input.id + '-error').textContent = message || '';
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  function formatNumber(d) {
    var groups = brandOf(d) === 'amex' ? [4, 6, 5] : [4, 4, 4, 4, 3], out = [], pos = 0;
    for (var i = 0; i < groups.length && pos < d.length; i++) { out.push(d.substr(pos, groups[i])); pos += groups[i]; }
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
      input.value = format(digitsOf(input.value).slice(0, limit()), deleting);
      if (input.getAttribute('aria-invalid') === 'true') setError(input, '');
    });
  }
  reformat(f.number, formatNumber, function () { return maxLength(brandOf(digitsOf(f.number.value))); });
  reformat(f.exp, formatExpiry, function () { return 4; });
  reformat(f.cvc, function (d) { return d; }, function () { return 4; });
  var checks = [[f.email, checkEmail], [f.number, checkNumber], [f.exp, checkExpiry], [f.cvc, checkCvc]];
  checks.forEach(function (pair) {
    pair[0].addEventListener('blur', function () {
      if (pair[0].value && !pair[0].readOnly) setError(pair[0], pair[1]());
    });
  });
  var sending = false;
  form.addEventListener('submit', function (event) {
    var first = null;
    checks.forEach(function (pair) {
      if (pair[0].readOnly) return;
      var message = pair[1]();
      setError(pair[0], message);
      if (message && !first) first = pair[0];
    });
    if (first || sending) {
      event.preventDefault();
      if (first) first.focus();
      return;
    }
    sending = true;  // one payment per click: a second submit waits for the first answer
    var button = $('cs-pay');
    button.disabled = true;
    button.textContent = 'Paying…';
  });
})();
