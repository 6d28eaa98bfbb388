"""Every route of the store, by name. Factories (``resources.py``) turn a miss into a 404."""


def includeme(config):
    config.add_static_view("static", "album_store:static", cache_max_age=3600)
    config.add_route("favicon", "/favicon.ico")
    config.add_route("home", "/")
    config.add_route("catalog", "/albums")
    config.add_route("album", "/albums/{slug}", factory=".resources.published_album_factory")
    config.add_route("album_cover", "/albums/{slug}/cover.svg", factory=".resources.published_album_factory")
    config.add_route("album_buy", "/albums/{slug}/buy", factory=".resources.published_album_factory")
    # The payment_intents flow (JSON, for the album page's card-payment.js): start, then confirm.
    config.add_route("album_payment_intent", "/albums/{slug}/payment-intent", factory=".resources.published_album_factory")
    config.add_route("purchase", "/purchases/{id}", factory=".resources.purchase_factory")
    config.add_route("purchase_confirm", "/purchases/{id}/confirm", factory=".resources.purchase_factory")
    config.add_route("stripe_webhook", "/stripe/webhook")
