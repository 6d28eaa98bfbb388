"""Every route of the store, by name. Factories (``resources.py``) turn a miss into a 404."""

import hashlib
from pathlib import Path

from pyramid.static import QueryStringConstantCacheBuster

STATIC = Path(__file__).resolve().parent / "static"


def static_files_version():
    """A short hash of every static file's content: the cache-busting token in their URLs."""
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def includeme(config):
    # Static files are cached for a year: their URLs change when any of them changes.
    config.add_static_view("static", "album_store:static", cache_max_age=365 * 24 * 3600)
    config.add_cache_buster("album_store:static/", QueryStringConstantCacheBuster(static_files_version()))
    config.add_route("favicon", "/favicon.ico")
    # For the proxy and an orchestrator (views/health.py).
    config.add_route("healthz", "/healthz")
    config.add_route("readyz", "/readyz")
    config.add_route("catalog_version", "/catalog-version")
    config.add_route("home", "/")
    config.add_route("csrf_token", "/csrf-token")
    config.add_route("catalog", "/albums")
    config.add_route("album", "/albums/{slug}", factory=".resources.published_album_factory")
    config.add_route("album_cover", "/albums/{slug}/cover.svg", factory=".resources.album_cover_factory")
    config.add_route("cover_image", "/covers/{key}/{size}.jpg")
    # A track's preview: its name is its content's hash, so it is cached for good.
    config.add_route("preview", "/previews/{filename}")
    config.add_route("album_buy", "/albums/{slug}/buy", factory=".resources.published_album_alone_factory")
    # The payment_intents flow (JSON, for the album page's card-payment.js): a fresh attempt id for
    # the page, start the payment (pending purchase + PaymentIntent), then confirm it.
    config.add_route("payment_attempt", "/payment-attempt")
    config.add_route(
        "album_payment_intent", "/albums/{slug}/payment-intent", factory=".resources.published_album_factory"
    )
    # The checkout_session flow: the Buy form posts here; the answer sends the buyer to Stripe's page.
    config.add_route(
        "album_checkout_session", "/albums/{slug}/checkout-session", factory=".resources.published_album_factory"
    )
    # Pay what you want, 0 where the minimum is 0: a free download, its link mailed to confirm the address.
    config.add_route(
        "album_free_download", "/albums/{slug}/free-download", factory=".resources.published_album_factory"
    )
    config.add_route("free_download_confirm", "/free-downloads/{token}")
    config.add_route("purchase", "/purchases/{id}", factory=".resources.purchase_factory")
    config.add_route("purchase_confirm", "/purchases/{id}/confirm", factory=".resources.purchase_factory")
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
    # What the shared pages leave out for a signed-in buyer (JSON, private): static/personal.js fills it in.
    config.add_route("personal_fragment", "/account/fragment")

    # The store owner's pages: every factory refuses anyone but an owner before it loads a record.
    config.add_route("admin_dashboard", "/admin", factory=".resources.admin_factory")
    config.add_route("admin_albums", "/admin/albums", factory=".resources.admin_factory")
    config.add_route("admin_album_new", "/admin/albums/new", factory=".resources.admin_factory")
    config.add_route("admin_album_edit", "/admin/albums/{id}/edit", factory=".resources.admin_album_factory")
    config.add_route("admin_album_publish", "/admin/albums/{id}/publish", factory=".resources.admin_album_factory")
    config.add_route("admin_album_archive", "/admin/albums/{id}/archive", factory=".resources.admin_album_factory")
    config.add_route("admin_album_delete", "/admin/albums/{id}/delete", factory=".resources.admin_album_factory")
    config.add_route("admin_album_tracks", "/admin/albums/{id}/tracks", factory=".resources.admin_album_factory")
    config.add_route("admin_album_cover", "/admin/albums/{id}/cover", factory=".resources.admin_album_factory")
    config.add_route("admin_album_file", "/admin/albums/{id}/file", factory=".resources.admin_album_factory")
    config.add_route(
        "admin_track_audio", "/admin/albums/{id}/tracks/{track_id}/audio", factory=".resources.admin_album_factory"
    )
    config.add_route(
        "admin_album_audio_status", "/admin/albums/{id}/audio-status.json", factory=".resources.admin_album_factory"
    )
    config.add_route("admin_purchases", "/admin/purchases", factory=".resources.admin_factory")
    config.add_route("admin_purchases_csv", "/admin/purchases.csv", factory=".resources.admin_factory")
    config.add_route("admin_purchase", "/admin/purchases/{id}", factory=".resources.admin_purchase_factory")
    config.add_route(
        "admin_purchase_refund", "/admin/purchases/{id}/refund", factory=".resources.admin_purchase_factory"
    )
