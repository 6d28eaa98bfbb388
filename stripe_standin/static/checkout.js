/*
 * stripe-standin checkout.js: a LOCAL TEST stand-in for Stripe's legacy
 * Checkout (https://checkout.stripe.com/checkout.js). Development and tests
 * only; no real card is ever charged.
 *
 * Simple embed: <form action=… method=post>
 *   <script src="http://127.0.0.1:PORT/checkout.js" class="stripe-button"
 *           data-key="pk_test_…" data-amount="999" data-currency="usd" …>
 *   </script></form>
 * draws a button after the script tag; a click opens the payment modal in an
 * iframe served by the stand-in (the card number never touches this page);
 * the modal tokenizes the card and sends the token here by postMessage; this
 * script then adds stripeToken, stripeTokenType and stripeEmail to the form
 * and submits it. Also: StripeCheckout.configure({key, token, …}).open({…}).
 *
 * Written for a strict Content-Security-Policy on the store's page: no eval,
 * no inline script or style elements, styles only through the CSSOM.
 */
(function () {
  'use strict';

  var current = document.currentScript;

  function originOf(src) {
    try {
      return new URL(src, document.baseURI).origin;
    } catch (e) {
      return null;
    }
  }

  function findOwnScript() {
    if (current && current.src) return current;
    var scripts = document.getElementsByTagName('script');
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/checkout\.js(\?|#|$)/.test(scripts[i].src || '')) return scripts[i];
    }
    return null;
  }

  var own = findOwnScript();
  var ORIGIN = own ? originOf(own.src) : null;
  if (!ORIGIN) {
    if (window.console) console.error('stripe-standin checkout.js: cannot tell which origin it was loaded from');
    return;
  }

  var G = window.__stripeStandinCheckout;
  if (!G || G.origin !== ORIGIN) {
    G = window.__stripeStandinCheckout = {
      origin: ORIGIN,
      open: null,          // the open modal, if any
      done: [],            // script elements already given a button
      seq: 0
    };
    window.addEventListener('message', onMessage, false);
    document.addEventListener('keydown', onKeydown, true);
    window.StripeCheckout = { configure: configure, __standin: true };
  }

  // ------------------------------------------------------------ styling

  function css(el, styles) {
    for (var k in styles) {
      if (Object.prototype.hasOwnProperty.call(styles, k)) el.style[k] = styles[k];
    }
  }

  function styleButton(button, span) {
    css(button, {
      display: 'inline-block', overflow: 'hidden', padding: '0',
      border: '0', borderRadius: '4px', cursor: 'pointer',
      background: 'linear-gradient(#28a0e5, #015e94)',
      boxShadow: '0 1px 0 rgba(0,0,0,0.2)', userSelect: 'none',
      WebkitFontSmoothing: 'antialiased', textDecoration: 'none'
    });
    css(span, {
      display: 'block', minHeight: '30px', padding: '0 12px',
      lineHeight: '30px', color: '#fff', fontWeight: 'bold',
      fontSize: '14px', fontFamily: '"Helvetica Neue",Helvetica,Arial,sans-serif',
      textShadow: '0 -1px 0 rgba(0,0,0,0.25)', borderRadius: '4px',
      background: 'linear-gradient(#7dc5ee, #008cdd 85%, #30a2e4)',
      boxShadow: 'inset 0 1px 0 rgba(255,255,255,0.25)'
    });
  }

  // ------------------------------------------------------------ options

  function truthy(v) {
    return v === true || v === 'true';
  }

  function optionsFromScript(script) {
    var d = script.dataset;
    return {
      key: d.key, amount: d.amount, currency: d.currency, name: d.name,
      description: d.description, image: d.image, locale: d.locale,
      email: d.email, panelLabel: d.panelLabel, label: d.label,
      zipCode: d.zipCode, allowRememberMe: d.allowRememberMe
    };
  }

  function absoluteUrl(u) {
    if (!u) return '';
    try {
      var url = new URL(u, document.baseURI);
      return /^https?:$/.test(url.protocol) ? url.href : '';
    } catch (e) {
      return '';
    }
  }

  // ------------------------------------------------------------ the modal

  function openModal(opts, callbacks) {
    if (G.open) return;
    var params = new URLSearchParams();
    params.set('key', opts.key || '');
    if (opts.amount != null && opts.amount !== '') params.set('amount', String(opts.amount));
    params.set('currency', (opts.currency || 'usd').toLowerCase());
    if (opts.name) params.set('name', opts.name);
    if (opts.description) params.set('description', opts.description);
    var image = absoluteUrl(opts.image);
    if (image) params.set('image', image);
    params.set('locale', opts.locale || 'auto');
    if (opts.email) params.set('email', opts.email);
    if (opts.panelLabel) params.set('panelLabel', opts.panelLabel);
    if (truthy(opts.zipCode)) params.set('zipCode', 'true');
    params.set('origin', window.location.origin);

    var overlay = document.createElement('div');
    overlay.className = 'stripe-standin-checkout-overlay';
    css(overlay, {
      position: 'fixed', top: '0', left: '0', right: '0', bottom: '0',
      zIndex: '2147483647', background: 'rgba(0,0,0,0.55)', margin: '0',
      padding: '0'
    });
    var iframe = document.createElement('iframe');
    iframe.className = 'stripe-standin-checkout-app';
    iframe.name = 'stripe_standin_checkout_' + (++G.seq);
    iframe.title = 'Pay with card (local test checkout)';
    iframe.src = ORIGIN + '/checkout/modal?' + params.toString();
    iframe.setAttribute('allowtransparency', 'true');
    iframe.setAttribute('frameborder', '0');
    css(iframe, {
      position: 'absolute', top: '0', left: '0', width: '100%',
      height: '100%', border: '0', margin: '0', padding: '0',
      background: 'transparent', colorScheme: 'normal', display: 'block'
    });
    iframe.addEventListener('load', function () {
      try { iframe.focus(); } catch (e) { /* ignore */ }
    });
    overlay.appendChild(iframe);

    var root = document.documentElement;
    G.open = {
      overlay: overlay, iframe: iframe, callbacks: callbacks || {},
      opts: opts, returnFocus: document.activeElement,
      overflow: root.style.overflow
    };
    root.style.overflow = 'hidden';
    document.body.appendChild(overlay);
    if (G.open.callbacks.opened) G.open.callbacks.opened();
  }

  function closeModal(cancelled) {
    var m = G.open;
    if (!m) return;
    G.open = null;
    if (m.overlay.parentNode) m.overlay.parentNode.removeChild(m.overlay);
    document.documentElement.style.overflow = m.overflow;
    if (m.returnFocus && m.returnFocus.focus) {
      try { m.returnFocus.focus(); } catch (e) { /* ignore */ }
    }
    if (m.callbacks.closed) m.callbacks.closed(cancelled);
  }

  function onMessage(event) {
    var m = G.open;
    if (event.origin !== ORIGIN || !m) return;
    if (event.source !== m.iframe.contentWindow) return;
    var data = event.data;
    if (!data || typeof data !== 'object' || typeof data.type !== 'string') return;
    if (data.type === 'stripe-standin:close') {
      closeModal(true);
    } else if (data.type === 'stripe-standin:token') {
      var token = data.token;
      if (!token || typeof token.id !== 'string' || !/^tok_\w+$/.test(token.id)) return;
      var onToken = m.callbacks.token;
      closeModal(false);
      if (onToken) onToken(token, {});
    }
  }

  function onKeydown(event) {
    if (G.open && (event.key === 'Escape' || event.key === 'Esc')) {
      event.preventDefault();
      closeModal(true);
    }
  }

  // ------------------------------------------------------------ simple embed

  function setHidden(form, name, value) {
    var input = null;
    var inputs = form.querySelectorAll('input[type="hidden"]');
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].name === name && inputs[i].hasAttribute('data-stripe-standin')) input = inputs[i];
    }
    if (!input) {
      input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.setAttribute('data-stripe-standin', '');
      form.appendChild(input);
    }
    input.value = value == null ? '' : String(value);
  }

  function submitWithToken(form, token) {
    if (!form) {
      if (window.console) console.error('stripe-standin checkout.js: the script tag is not inside a <form>');
      return;
    }
    setHidden(form, 'stripeToken', token.id);
    setHidden(form, 'stripeTokenType', token.type || 'card');
    setHidden(form, 'stripeEmail', token.email || '');
    HTMLFormElement.prototype.submit.call(form);
  }

  function addButton(script) {
    var opts = optionsFromScript(script);
    var form = script.closest ? script.closest('form') : null;
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'stripe-button-el';
    var span = document.createElement('span');
    span.textContent = opts.label || 'Pay with Card';
    button.appendChild(span);
    styleButton(button, span);
    button.addEventListener('click', function (event) {
      event.preventDefault();
      var submitted = false;
      openModal(optionsFromScript(script), {
        token: function (token) {
          if (submitted) return;
          submitted = true;
          button.disabled = true;
          submitWithToken(form, token);
        }
      });
    });
    script.parentNode.insertBefore(button, script.nextSibling);
  }

  function addButtons() {
    var scripts = document.querySelectorAll('script.stripe-button');
    for (var i = 0; i < scripts.length; i++) {
      var s = scripts[i];
      if (G.done.indexOf(s) !== -1 || originOf(s.src) !== ORIGIN) continue;
      G.done.push(s);
      addButton(s);
    }
  }

  // ------------------------------------------------------------ custom

  function configure(base) {
    base = base || {};
    return {
      open: function (more) {
        var opts = {};
        var k;
        for (k in base) if (Object.prototype.hasOwnProperty.call(base, k)) opts[k] = base[k];
        for (k in (more || {})) if (Object.prototype.hasOwnProperty.call(more, k)) opts[k] = more[k];
        openModal(opts, {
          token: function (token, args) { if (opts.token) opts.token(token, args); },
          opened: opts.opened, closed: opts.closed && function () { opts.closed(); }
        });
      },
      close: function () { closeModal(true); }
    };
  }

  addButtons();
})();
