/*
 * stripe-standin: the bank's 3-D Secure challenge, in an iframe on the stand-in's origin over the
 * store's page. Sends {type: "stripe-standin:3ds-result", success: true|false} to the page (its
 * exact origin as targetOrigin); the page's Stripe.js tells the stand-in. Closing it (×, Escape) is
 * a failed authentication, as with a real bank's challenge.
 */
(function () {
  'use strict';

  var q = new URLSearchParams(window.location.search);
  var origin = /^https?:\/\/[^/\s]+$/.test(q.get('origin') || '') ? q.get('origin') : null;
  var ZERO_DECIMAL = ['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv',
    'xaf', 'xof', 'xpf'];

  function $(id) { return document.getElementById(id); }

  var amount = parseInt(q.get('amount'), 10);
  var currency = (q.get('currency') || 'usd').toLowerCase();
  if (!isNaN(amount)) {
    var digits = ZERO_DECIMAL.indexOf(currency) !== -1 ? 0 : 2;
    var text;
    try {
      text = new Intl.NumberFormat(navigator.language || 'en-US', { style: 'currency', currency: currency.toUpperCase() })
        .format(amount / Math.pow(10, digits));
    } catch (e) {
      text = (amount / Math.pow(10, digits)).toFixed(digits) + ' ' + currency.toUpperCase();
    }
    $('tds-amount').textContent = text;
    $('tds-amount').hidden = false;
  }

  var answered = false;
  function answer(success) {
    if (answered) return;
    answered = true;
    $('tds-complete').disabled = true;
    $('tds-fail').disabled = true;
    if (origin && window.parent !== window) {
      window.parent.postMessage({ type: 'stripe-standin:3ds-result', success: success }, origin);
    }
  }

  $('tds-complete').addEventListener('click', function () { answer(true); });
  $('tds-fail').addEventListener('click', function () { answer(false); });
  $('tds-close').addEventListener('click', function () { answer(false); });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' || event.key === 'Esc') { event.preventDefault(); answer(false); }
  });
  $('tds-complete').focus();
  // The buttons answer from now on (a test waits for this before it presses one).
  document.documentElement.setAttribute('data-ready', 'true');
})();
