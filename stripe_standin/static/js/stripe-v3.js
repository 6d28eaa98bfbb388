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
 * The Payment Element (the Card Element's successor; the Card Element stays for pages still using it):
 *
 *   var elements = stripe.elements({clientSecret: 'pi_…_secret_…', appearance: {variables: {…}}});
 *   var payment = elements.create('payment');   // an iframe served by the stand-in: card only
 *   payment.mount('#payment-element');
 *   payment.on('change', function (e) { … e.complete, e.empty, e.value.type … });
 *   elements.submit().then(function (r) { … r.error (validation) … });
 *   stripe.confirmPayment({elements: elements, confirmParams: {return_url, receipt_email,
 *     payment_method_data: {billing_details: {email}}}, redirect: 'if_required'})
 *     .then(function (result) { … result.paymentIntent or result.error … });
 *
 * confirmPayment: the element's frame confirms the PaymentIntent itself (the card goes inline as
 * payment_method_data, as real Stripe.js sends it, with the publishable key and the client secret),
 * then 3-D Secure as for confirmCardPayment. With redirect 'always' (the default) a successful payment
 * goes on to return_url?payment_intent=…&payment_intent_client_secret=…&redirect_status=succeeded;
 * with 'if_required' a card never redirects and the promise resolves instead. The stand-in has only
 * cards: no wallets, no other methods, and no deferred intents (elements({mode}) without a clientSecret).
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

  // ------------------------------------------------------------ the Payment Element

  var APPEARANCE_VARIABLES = ['colorPrimary', 'colorText', 'colorDanger', 'colorBackground', 'fontSizeBase',
    'borderRadius', 'fontFamily'];

  function PaymentElement(group, options) {
    this._group = group;
    this._options = options || {};
    this._handlers = {};
    this._container = null;
    this._iframe = null;
    this._requests = {};
    this._seq = 0;
    this._frameUp = false;  // the frame's script runs (it takes messages)
    this._ready = false;    // the frame has loaded the PaymentIntent and shows the card fields
    this._queue = [];
    this._onMessage = this._onMessage.bind(this);
  }

  PaymentElement.prototype.mount = function (target) {
    var container = typeof target === 'string' ? document.querySelector(target) : target;
    if (!container || !(container instanceof window.Element)) {
      throw IntegrationError('Invalid DOM element. Make sure to call mount() with a valid DOM element or selector.');
    }
    if (this._destroyed) throw IntegrationError('This Element has already been destroyed. Please create a new one.');
    if (this._iframe) throw IntegrationError('This Element is already mounted. Use `unmount()` first.');
    var params = new URLSearchParams();
    params.set('key', this._group._stripe._key);
    params.set('origin', window.location.origin);
    var variables = (this._group._appearance && this._group._appearance.variables) || {};
    APPEARANCE_VARIABLES.forEach(function (name) {
      if (typeof variables[name] === 'string' && variables[name].length < 100) params.set(name, variables[name]);
    });
    if (this._options.readOnly) params.set('readOnly', 'true');

    var iframe = document.createElement('iframe');
    iframe.name = '__privateStripeFrame' + (++frames);
    iframe.title = 'Secure payment input frame';
    iframe.setAttribute('frameborder', '0');
    iframe.setAttribute('allowtransparency', 'true');
    iframe.setAttribute('scrolling', 'no');
    iframe.setAttribute('allow', 'payment *');
    iframe.src = BASE + '/js.stripe.com/v3/elements/payment?' + params.toString();
    css(iframe, { border: '0', margin: '0', padding: '0', width: '100%', minWidth: '100%', height: '180px',
      display: 'block', overflow: 'hidden', background: 'transparent', colorScheme: 'normal' });
    window.addEventListener('message', this._onMessage, false);
    container.classList.add('StripeElement', 'StripeElement--empty');
    container.appendChild(iframe);
    this._container = container;
    this._iframe = iframe;
  };

  PaymentElement.prototype._post = function (message) {
    if (!this._iframe) return;
    if (!this._frameUp) { this._queue.push(message); return; }
    this._iframe.contentWindow.postMessage(message, ORIGIN);
  };

  PaymentElement.prototype._emit = function (name, event) {
    (this._handlers[name] || []).slice().forEach(function (handler) { handler(event); });
  };

  // A request to the frame, answered by a message with the same requestId.
  PaymentElement.prototype._ask = function (type, fields) {
    var self = this;
    if (!this._iframe) {
      return Promise.resolve({ error: { type: 'validation_error', code: 'element_not_mounted',
        message: 'The Payment Element is not mounted.' } });
    }
    return new Promise(function (resolve) {
      var id = 'request-' + (++self._seq);
      self._requests[id] = resolve;
      var message = { type: type, requestId: id };
      Object.keys(fields || {}).forEach(function (k) { message[k] = fields[k]; });
      self._post(message);
    });
  };

  PaymentElement.prototype._onMessage = function (event) {
    if (!this._iframe || event.origin !== ORIGIN || event.source !== this._iframe.contentWindow) return;
    var data = event.data;
    if (!data || typeof data !== 'object' || typeof data.type !== 'string') return;
    var classes = this._container.classList;
    if (data.type === 'stripe-standin:payment-frame-up') {
      this._frameUp = true;
      this._iframe.contentWindow.postMessage({ type: 'stripe-standin:payment-init',
        clientSecret: this._group._clientSecret }, ORIGIN);
      var queued = this._queue;
      this._queue = [];
      queued.forEach(this._post, this);
    } else if (data.type === 'stripe-standin:payment-ready') {
      this._ready = true;
      this._emit('ready', { elementType: 'payment' });
    } else if (data.type === 'stripe-standin:payment-loaderror') {
      this._emit('loaderror', { elementType: 'payment', error: data.error });
    } else if (data.type === 'stripe-standin:payment-height') {
      if (typeof data.height === 'number' && data.height > 0 && data.height < 800) this._iframe.style.height = data.height + 'px';
    } else if (data.type === 'stripe-standin:payment-change') {
      classes.toggle('StripeElement--empty', !!data.empty);
      classes.toggle('StripeElement--complete', !!data.complete);
      this._emit('change', { elementType: 'payment', empty: !!data.empty, complete: !!data.complete,
        collapsed: false, value: { type: 'card' } });
    } else if (data.type === 'stripe-standin:payment-focus') {
      classes.add('StripeElement--focus');
      this._emit('focus', { elementType: 'payment' });
    } else if (data.type === 'stripe-standin:payment-blur') {
      classes.remove('StripeElement--focus');
      this._emit('blur', { elementType: 'payment' });
    } else if (data.type === 'stripe-standin:payment-answer' && typeof data.requestId === 'string') {
      var resolve = this._requests[data.requestId];
      if (resolve) {
        delete this._requests[data.requestId];
        resolve(data);
      }
    }
  };

  PaymentElement.prototype.on = function (name, handler) {
    (this._handlers[name] = this._handlers[name] || []).push(handler);
    if (name === 'ready' && this._ready) handler({ elementType: 'payment' });
    return this;
  };
  PaymentElement.prototype.off = CardElement.prototype.off;
  PaymentElement.prototype.focus = function () { this._post({ type: 'stripe-standin:focus' }); };
  PaymentElement.prototype.blur = function () { this._post({ type: 'stripe-standin:blur' }); };
  PaymentElement.prototype.clear = function () { this._post({ type: 'stripe-standin:clear' }); };
  PaymentElement.prototype.collapse = function () { return this; };  // one method only: nothing to collapse
  PaymentElement.prototype.update = function (options) {
    if (options && Object.prototype.hasOwnProperty.call(options, 'readOnly')) {
      this._post({ type: 'stripe-standin:update', options: { readOnly: !!options.readOnly } });
    }
  };
  PaymentElement.prototype.unmount = function () {
    window.removeEventListener('message', this._onMessage, false);
    if (this._iframe && this._iframe.parentNode) this._iframe.parentNode.removeChild(this._iframe);
    if (this._container) {
      this._container.classList.remove('StripeElement', 'StripeElement--empty', 'StripeElement--complete',
        'StripeElement--focus');
    }
    var pending = this._requests;
    this._requests = {};
    Object.keys(pending).forEach(function (id) {
      pending[id]({ error: { type: 'validation_error', code: 'element_not_mounted', message: 'The Payment Element was removed.' } });
    });
    this._iframe = null;
    this._container = null;
    this._frameUp = false;
    this._ready = false;
    this._queue = [];
  };
  PaymentElement.prototype.destroy = function () {
    this.unmount();
    this._destroyed = true;
    if (this._group._payment === this) this._group._payment = null;
  };

  // ------------------------------------------------------------ elements()

  var CLIENT_SECRET = /^(pi_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/;

  function Elements(stripe, options) {
    options = options || {};
    if (options.clientSecret !== undefined && !CLIENT_SECRET.test(String(options.clientSecret))) {
      throw IntegrationError('Invalid value for elements(): clientSecret should be a client secret of the form ' +
        '${id}_secret_${secret}. You specified: ' + options.clientSecret + '.');
    }
    this._stripe = stripe;
    this._clientSecret = options.clientSecret || null;
    this._mode = options.mode || null;
    this._appearance = options.appearance || null;
    this._payment = null;
  }

  Elements.prototype.create = function (type, options) {
    var stripe = this._stripe;
    if (type === 'card') {
      if (stripe._card && !stripe._card._destroyed) throw IntegrationError('Can only create one Element of type card.');
      stripe._card = new CardElement(stripe, options);
      return stripe._card;
    }
    if (type === 'payment') {
      if (!this._clientSecret) {
        throw IntegrationError('In order to create a payment element, you must pass a valid PaymentIntent client ' +
          'secret when creating the Elements group (the local Stripe stand-in has no deferred intents: ' +
          'elements({mode}) without a clientSecret).');
      }
      if (this._payment && !this._payment._destroyed) throw IntegrationError('Can only create one Element of type payment.');
      this._payment = new PaymentElement(this, options);
      return this._payment;
    }
    throw IntegrationError('The local Stripe stand-in only makes the `payment` and `card` Elements, not `' + type + '`.');
  };

  Elements.prototype.getElement = function (type) {
    if (type === 'card') return this._stripe._card && !this._stripe._card._destroyed ? this._stripe._card : null;
    if (type === 'payment') return this._payment && !this._payment._destroyed ? this._payment : null;
    return null;
  };

  Elements.prototype.update = function (options) {
    if (options && options.appearance) this._appearance = options.appearance;
  };

  Elements.prototype.fetchUpdates = function () { return Promise.resolve({}); };

  // Validates the Payment Element (its frame shows what is missing); resolves {} or {error}.
  Elements.prototype.submit = function () {
    var payment = this.getElement('payment');
    if (!payment || !payment._iframe) {
      return Promise.resolve({ error: { type: 'validation_error', code: 'element_not_mounted',
        message: 'elements.submit(): the Payment Element is not mounted.' } });
    }
    return payment._ask('stripe-standin:payment-submit').then(function (answer) {
      return answer.error ? { error: answer.error } : {};
    });
  };

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

  Stripe.prototype.elements = function (options) {
    return new Elements(this, options);
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

  // The PaymentIntent's redirect after a successful payment, as Stripe.js makes it.
  function returnTo(returnUrl, intent) {
    var url = new URL(returnUrl, window.location.href);
    url.searchParams.set('payment_intent', intent.id);
    url.searchParams.set('payment_intent_client_secret', intent.client_secret);
    url.searchParams.set('redirect_status', intent.status === 'succeeded' ? 'succeeded' : intent.status);
    window.location.assign(url.toString());
    return new Promise(function () {});  // the page is going away
  }

  Stripe.prototype.confirmPayment = function (options) {
    var stripe = this;
    options = options || {};
    var elements = options.elements;
    if (!(elements instanceof Elements)) {
      return Promise.reject(IntegrationError('stripe.confirmPayment(): expected either `elements` or `clientSecret`, but got neither.'));
    }
    var clientSecret = options.clientSecret || elements._clientSecret;
    var match = CLIENT_SECRET.exec(clientSecret || '');
    if (!match) return Promise.reject(IntegrationError('stripe.confirmPayment(): the Elements group has no clientSecret.'));
    var redirect = options.redirect === undefined ? 'always' : options.redirect;
    if (redirect !== 'always' && redirect !== 'if_required') {
      return Promise.reject(IntegrationError('Invalid value for confirmPayment: redirect should be one of the following strings: always, if_required. You specified: ' + redirect + '.'));
    }
    var confirmParams = options.confirmParams || {};
    if (redirect === 'always' && !confirmParams.return_url) {
      return Promise.reject(IntegrationError('stripe.confirmPayment(): the `confirmParams.return_url` argument is required unless passing `redirect: \'if_required\'`'));
    }
    var payment = elements.getElement('payment');
    if (!payment || !payment._iframe) {
      return Promise.reject(IntegrationError('stripe.confirmPayment(): the Payment Element of this Elements group is not mounted.'));
    }
    var path = '/v1/payment_intents/' + match[1];
    // The frame checks the card (as elements.submit()) and confirms with it: the card number never
    // leaves the frame. confirmParams go to Stripe as they are (it refuses what it does not know).
    return payment._ask('stripe-standin:payment-confirm', { clientSecret: clientSecret, confirmParams: confirmParams })
      .then(function (answer) {
        if (answer.error) return { error: answer.error };  // validation: nothing reached Stripe
        var confirmed = { status: answer.status, body: answer.body || {} };
        if (confirmed.status === 200 && confirmed.body.status === 'requires_action') {
          return challenge(confirmed.body).then(function (success) {
            return api('POST', path + '/_authenticate', {
              key: stripe._key, client_secret: clientSecret, success: success ? 'true' : 'false'
            });
          }).then(intentOutcome);
        }
        return intentOutcome(confirmed);
      }).then(function (result) {
        if (result.paymentIntent && redirect === 'always' && confirmParams.return_url) {
          return returnTo(confirmParams.return_url, result.paymentIntent);
        }
        return result;
      });
  };

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
