"""Every route of the store, by name. Factories (``resources.py``) turn a miss into a 404."""


def includeme(config):
    config.add_static_view("static", "album_store:static", cache_max_age=3600)
    config.add_route("favicon", "/favicon.ico")
    config.add_route("home", "/")
    config.add_route("catalog", "/albums")
    config.add_route("album", "/albums/{slug}", factory=".resources.published_album_factory")
    config.add_route("album_cover", "/albums/{slug}/cover.svg", factory=".resources.published_album_factory")
    config.add_route("album_buy", "/albums/{slug}/buy", factory=".resources.published_album_factory")
    config.add_route("purchase", "/purchases/{id}", factory=".resources.purchase_factory")
    config.add_route("stripe_webhook", "/stripe/webhook")
    config.add_route("download", "/downloads/{token}", factory=".resources.download_factory")

    config.add_route("account_register", "/account/register")
    config.add_route("account_login", "/account/login")
    config.add_route("account_logout", "/account/logout")
    config.add_route("account_confirm_resend", "/account/confirm")
    config.add_route("account_confirm", "/account/confirm/{token}")
    config.add_route("account_reset_request", "/account/reset")
    config.add_route("account_reset", "/account/reset/{token}")
    config.add_route("library", "/library")
