/*
 * stripe-standin Stripe.js v3: a LOCAL TEST stand-in for https://js.stripe.com/v3/ (development
 * and tests only; no real card is ever charged).
 *
 *   var stripe = Stripe('pk_test_…');
 *   var card = stripe.elements().create('card', {hidePostalCode: true});
 *   card.mount('#card-element');            // an iframe served by the stand-in holds the inputs
 *   card.on('change', function (e) { … e.complete, e.error … });
 *   stripe.confirmCardPayment(clientSecret, {payment_method: {card: card, billing_details: {email}}})
 *     .then(function (result) { … result.paymentIntent or result.error … });
 *
 * confirmCardPayment: the card frame makes the PaymentMethod at the stand-in (POST
 * /v1/payment_methods with the publishable key); this script confirms the PaymentIntent with the
 * client secret; when the card needs 3-D Secure it shows the bank's challenge (another stand-in
 * frame, "Complete authentication" / "Fail authentication") and sends the answer. Also
 * retrievePaymentIntent and createPaymentMethod. The API is the origin this script came from.
 *
 * Written for a strict Content-Security-Policy on the store's page: no eval, no inline script or
 * style elements, styles only through the CSSOM.
 */
(function () {
  'use strict';

  var current = document.currentScript;

  function findOwnScript() {
    if (current && current.src) return current;
    var scripts = document.getElementsByTagName('script');
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/js\.stripe\.com\/v3\/?(\?|#|$)/.test(scripts[i].src || '')) return scripts[i];
    }
    return null;
  }

  var own = findOwnScript();
  if (!own) {
    if (window.console) console.error('stripe-standin Stripe.js: cannot tell where it was loaded from');
    return;
  }
  var ORIGIN = new URL(own.src, document.baseURI).origin;
  var BASE = own.src.replace(/\/js\.stripe\.com\/v3\/?([?#].*)?$/, '');
  var frames = 0;

  function css(el, styles) {
    for (var k in styles) {
      if (Object.prototype.hasOwnProperty.call(styles, k)) el.style[k] = styles[k];
    }
  }

  function IntegrationError(message) {
    var error = new Error(message);
    error.name = 'IntegrationError';
    return error;
  }

  // Stripe's form encoding: nested objects as a[b][c]=v, lists as a[0]=v.
  function encode(params, prefix, out) {
    out = out || new URLSearchParams();
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      var name = prefix ? prefix + '[' + key + ']' : key;
      if (value === undefined || value === null) return;
      if (typeof value === 'object') encode(value, name, out);
      else out.append(name, String(value));
    });
    return out;
  }

  // A call to the stand-in's API as a browser makes it: the publishable key in the parameters
  // (a "simple" cross-origin request: no preflight). Resolves to {status, body}.
  function api(method, path, params) {
    var query = encode(params).toString();
    var url = BASE + path + (method === 'GET' ? '?' + query : '');
    var init = { method: method, credentials: 'omit' };
    if (method !== 'GET') {
      init.headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
      init.body = query;
    }
    return fetch(url, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body || {} };
      });
    }, function () {
      return { status: 0, body: { error: { type: 'api_connection_error',
        message: 'We could not reach Stripe (the local stand-in). Please check your connection and try again.' } } };
    });
  }

  function errorOf(answer) {
    return (answer.body && answer.body.error) ||
      { type: 'api_error', message: 'An unexpected error occurred (HTTP ' + answer.status + ').' };
  }

  // ------------------------------------------------------------ the card Element

  function CardElement(stripe, options) {
    this._stripe = stripe;
    this._options = options || {};
    this._handlers = {};
    this._container = null;
    this._iframe = null;
    this._requests = {};
    this._seq = 0;
    this._ready = false;
    this._queue = [];
    this._onMessage = this._onMessage.bind(this);
  }

  CardElement.prototype.mount = function (target) {
    var container = typeof target === 'string' ? document.querySelector(target) : target;
    if (!container || !(container instanceof window.Element)) {
      throw IntegrationError('Invalid DOM element. Make sure to call mount() with a valid DOM element or selector.');
    }
    if (this._iframe) throw IntegrationError('This Element is already mounted. Use `unmount()` first.');
    var style = (this._options.style && this._options.style.base) || {};
    var invalid = (this._options.style && this._options.style.invalid) || {};
    var params = new URLSearchParams();
    params.set('key', this._stripe._key);
    params.set('origin', window.location.origin);
    if (this._options.hidePostalCode) params.set('hidePostalCode', 'true');
    if (style.fontSize) params.set('fontSize', style.fontSize);
    if (style.color) params.set('color', style.color);
    if (invalid.color) params.set('invalidColor', invalid.color);
    if (this._options.disabled) params.set('disabled', 'true');

    var iframe = document.createElement('iframe');
    iframe.name = '__privateStripeFrame' + (++frames);
    iframe.title = 'Secure card payment input frame';
    iframe.setAttribute('frameborder', '0');
    iframe.setAttribute('allowtransparency', 'true');
    iframe.setAttribute('scrolling', 'no');
    iframe.setAttribute('allow', 'payment *');
    iframe.src = BASE + '/js.stripe.com/v3/elements/card?' + params.toString();
    css(iframe, { border: '0', margin: '0', padding: '0', width: '100%', minWidth: '100%', height: '22px',
      display: 'block', overflow: 'hidden', background: 'transparent', colorScheme: 'normal' });
    window.addEventListener('message', this._onMessage, false);
    container.classList.add('StripeElement', 'StripeElement--empty');
    container.appendChild(iframe);
    this._container = container;
    this._iframe = iframe;
  };

  CardElement.prototype._post = function (message) {
    if (!this._iframe) return;
    if (!this._ready) { this._queue.push(message); return; }
    this._iframe.contentWindow.postMessage(message, ORIGIN);
  };

  CardElement.prototype._emit = function (name, event) {
    (this._handlers[name] || []).slice().forEach(function (handler) { handler(event); });
  };

  CardElement.prototype._onMessage = function (event) {
    if (!this._iframe || event.origin !== ORIGIN || event.source !== this._iframe.contentWindow) return;
    var data = event.data;
    if (!data || typeof data !== 'object' || typeof data.type !== 'string') return;
    var classes = this._container.classList;
    if (data.type === 'stripe-standin:card-ready') {
      this._ready = true;
      var queued = this._queue;
      this._queue = [];
      queued.forEach(this._post, this);
      this._emit('ready', { elementType: 'card' });
    } else if (data.type === 'stripe-standin:card-height') {
      if (typeof data.height === 'number' && data.height > 0 && data.height < 400) this._iframe.style.height = data.height + 'px';
    } else if (data.type === 'stripe-standin:card-change') {
      classes.toggle('StripeElement--empty', !!data.empty);
      classes.toggle('StripeElement--complete', !!data.complete);
      classes.toggle('StripeElement--invalid', !!data.error);
      this._emit('change', { elementType: 'card', empty: !!data.empty, complete: !!data.complete,
        brand: data.brand || 'unknown', error: data.error || undefined, value: { postalCode: data.postalCode || '' } });
    } else if (data.type === 'stripe-standin:card-focus') {
      classes.add('StripeElement--focus');
      this._emit('focus', { elementType: 'card' });
    } else if (data.type === 'stripe-standin:card-blur') {
      classes.remove('StripeElement--focus');
      this._emit('blur', { elementType: 'card' });
    } else if (data.type === 'stripe-standin:payment-method') {
      var resolve = this._requests[data.requestId];
      if (resolve) {
        delete this._requests[data.requestId];
        resolve(data.error ? { error: data.error } : { paymentMethod: data.paymentMethod });
      }
    }
  };

  CardElement.prototype._createPaymentMethod = function (billingDetails) {
    var self = this;
    if (!this._iframe) {
      return Promise.resolve({ error: { type: 'validation_error', code: 'element_not_mounted',
        message: 'The card Element is not mounted.' } });
    }
    return new Promise(function (resolve) {
      var id = 'pm-request-' + (++self._seq);
      self._requests[id] = resolve;
      self._post({ type: 'stripe-standin:create-payment-method', requestId: id, billingDetails: billingDetails || {} });
    });
  };

  CardElement.prototype.on = function (name, handler) {
    (this._handlers[name] = this._handlers[name] || []).push(handler);
    if (name === 'ready' && this._ready) handler({ elementType: 'card' });
    return this;
  };
  CardElement.prototype.off = function (name, handler) {
    this._handlers[name] = (this._handlers[name] || []).filter(function (h) { return handler && h !== handler; });
    return this;
  };
  CardElement.prototype.focus = function () { this._post({ type: 'stripe-standin:focus' }); };
  CardElement.prototype.blur = function () { this._post({ type: 'stripe-standin:blur' }); };
  CardElement.prototype.clear = function () { this._post({ type: 'stripe-standin:clear' }); };
  CardElement.prototype.update = function (options) {
    this._post({ type: 'stripe-standin:update', options: { disabled: !!(options && options.disabled) } });
  };
  CardElement.prototype.unmount = function () {
    window.removeEventListener('message', this._onMessage, false);
    if (this._iframe && this._iframe.parentNode) this._iframe.parentNode.removeChild(this._iframe);
    if (this._container) {
      this._container.classList.remove('StripeElement', 'StripeElement--empty', 'StripeElement--complete',
        'StripeElement--invalid', 'StripeElement--focus');
    }
    this._iframe = null;
    this._container = null;
    this._ready = false;
  };
  CardElement.prototype.destroy = function () { this.unmount(); this._destroyed = true; };

  // ------------------------------------------------------------ 3-D Secure

  // The bank's challenge over the page; resolves to true (completed) or false (failed or cancelled).
  function challenge(intent) {
    return new Promise(function (resolve) {
      var params = new URLSearchParams();
      params.set('amount', String(intent.amount));
      params.set('currency', intent.currency || 'usd');
      params.set('origin', window.location.origin);
      var overlay = document.createElement('div');
      overlay.className = 'stripe-standin-3ds-overlay';
      css(overlay, { position: 'fixed', top: '0', left: '0', right: '0', bottom: '0', zIndex: '2147483647',
        background: 'rgba(0,0,0,0.55)', margin: '0', padding: '0' });
      var iframe = document.createElement('iframe');
      iframe.name = '__privateStripeFrame' + (++frames);
      iframe.className = 'stripe-standin-3ds-frame';
      iframe.title = '3D Secure authentication (local test)';
      iframe.setAttribute('frameborder', '0');
      iframe.src = BASE + '/js.stripe.com/v3/three-d-secure?' + params.toString();
      css(iframe, { position: 'absolute', top: '0', left: '0', width: '100%', height: '100%', border: '0',
        margin: '0', padding: '0', background: 'transparent', display: 'block', colorScheme: 'normal' });
      iframe.addEventListener('load', function () { try { iframe.focus(); } catch (e) { /* ignore */ } });
      overlay.appendChild(iframe);
      var root = document.documentElement;
      var overflow = root.style.overflow;
      var returnFocus = document.activeElement;

      function done(success) {
        window.removeEventListener('message', onMessage, false);
        document.removeEventListener('keydown', onKeydown, true);
        if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
        root.style.overflow = overflow;
        if (returnFocus && returnFocus.focus) { try { returnFocus.focus(); } catch (e) { /* ignore */ } }
        resolve(success);
      }
      function onMessage(event) {
        if (event.origin !== ORIGIN || event.source !== iframe.contentWindow) return;
        var data = event.data;
        if (data && data.type === 'stripe-standin:3ds-result') done(data.success === true);
      }
      function onKeydown(event) {
        if (event.key === 'Escape' || event.key === 'Esc') { event.preventDefault(); done(false); }
      }
      window.addEventListener('message', onMessage, false);
      document.addEventListener('keydown', onKeydown, true);
      root.style.overflow = 'hidden';
      document.body.appendChild(overlay);
    });
  }

  // ------------------------------------------------------------ Stripe()

  function Stripe(key) {
    if (!(this instanceof Stripe)) return new Stripe(key);
    if (typeof key !== 'string' || !key) throw IntegrationError('Please call Stripe() with your publishable key. You used an empty string.');
    if (/^sk_/.test(key)) throw IntegrationError('You should not use your secret key with Stripe.js. Please pass a publishable key instead.');
    if (!/^pk_/.test(key)) throw IntegrationError('Invalid API Key provided: ' + key);
    this._key = key;
    this._card = null;
  }

  Stripe.prototype.elements = function () {
    var stripe = this;
    return {
      create: function (type, options) {
        if (type !== 'card') throw IntegrationError('The local Stripe stand-in only makes the `card` Element, not `' + type + '`.');
        if (stripe._card && !stripe._card._destroyed) throw IntegrationError('Can only create one Element of type card.');
        stripe._card = new CardElement(stripe, options);
        return stripe._card;
      },
      getElement: function (type) {
        return type === 'card' && stripe._card && !stripe._card._destroyed ? stripe._card : null;
      }
    };
  };

  Stripe.prototype._paymentMethodId = function (paymentMethod) {
    if (typeof paymentMethod === 'string') return Promise.resolve({ id: paymentMethod });
    if (paymentMethod && paymentMethod.card instanceof CardElement) {
      return paymentMethod.card._createPaymentMethod(paymentMethod.billing_details).then(function (result) {
        return result.error ? { error: result.error } : { id: result.paymentMethod.id };
      });
    }
    return Promise.resolve({ id: null });
  };

  function intentOutcome(answer) {
    if (answer.status !== 200) return { error: errorOf(answer) };
    var intent = answer.body;
    if (intent.status === 'succeeded' || intent.status === 'processing' || intent.status === 'requires_capture') {
      return { paymentIntent: intent };
    }
    var last = intent.last_payment_error;
    var error = {};
    if (last) {
      Object.keys(last).forEach(function (k) { if (k !== 'payment_method') error[k] = last[k]; });
    } else {
      error = { type: 'invalid_request_error', code: 'payment_intent_unexpected_state',
        message: 'The PaymentIntent has a status of ' + intent.status + '.' };
    }
    error.payment_intent = intent;
    return { error: error };
  }

  Stripe.prototype.confirmCardPayment = function (clientSecret, data) {
    var stripe = this;
    var match = /^(pi_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/.exec(clientSecret || '');
    if (!match) {
      return Promise.reject(IntegrationError('Invalid value for confirmCardPayment: the client secret should be of the form pi_…_secret_….'));
    }
    var path = '/v1/payment_intents/' + match[1];
    var base = { key: stripe._key, client_secret: clientSecret };
    data = data || {};
    return stripe._paymentMethodId(data.payment_method).then(function (pm) {
      if (pm.error) return { error: pm.error };
      var params = { key: stripe._key, client_secret: clientSecret, use_stripe_sdk: 'true' };
      if (pm.id) params.payment_method = pm.id;
      return api('POST', path + '/confirm', params).then(function (answer) {
        if (answer.status === 200 && answer.body.status === 'requires_action') {
          return challenge(answer.body).then(function (success) {
            return api('POST', path + '/_authenticate', {
              key: base.key, client_secret: base.client_secret, success: success ? 'true' : 'false'
            });
          }).then(intentOutcome);
        }
        return intentOutcome(answer);
      });
    });
  };
  Stripe.prototype.handleCardPayment = Stripe.prototype.confirmCardPayment;  // its old name

  Stripe.prototype.retrievePaymentIntent = function (clientSecret) {
    var match = /^(pi_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/.exec(clientSecret || '');
    if (!match) return Promise.reject(IntegrationError('Invalid value for retrievePaymentIntent: clientSecret.'));
    return api('GET', '/v1/payment_intents/' + match[1], { key: this._key, client_secret: clientSecret })
      .then(function (answer) {
        return answer.status === 200 ? { paymentIntent: answer.body } : { error: errorOf(answer) };
      });
  };

  Stripe.prototype.createPaymentMethod = function (options) {
    options = options || {};
    if (options.type !== 'card' || !(options.card instanceof CardElement)) {
      return Promise.reject(IntegrationError('The local Stripe stand-in makes card PaymentMethods from a card Element.'));
    }
    return options.card._createPaymentMethod(options.billing_details).then(function (result) {
      return result.error ? { error: result.error } : { paymentMethod: result.paymentMethod };
    });
  };

  window.Stripe = Stripe;
  window.Stripe.version = 3;
  window.Stripe.__standin = true;
})();
