"""What shoppers browse: the home page, the catalog, album pages and their covers."""
from pathlib import Path

from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound
from pyramid.response import FileResponse, Response
from pyramid.view import view_config
from sqlalchemy import select

from ..covers import cover_svg, cover_url
from ..models import Album
from ..money import format_amount_input, format_money, minor_unit_digits
from ..pricing import maximum_for
from ..services.audio import FORMATS, PREVIEW_SECONDS, IAudioService, offered_formats
from ..stripe_amounts import minimum_charge
from ..services.media import IMediaStorage
from ..services.payments import IPaymentService
from ..services.purchases import IPurchaseService
from ..settings import CHECKOUT_SESSION, PAYMENT_INTENTS
from ..storage import IFileStorage

PAGE_SIZE = 24
FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.svg"


# What an album card shows: only these columns are loaded (rows, not ORM objects).
CARD_COLUMNS = (
    Album.id, Album.slug, Album.title, Album.artist, Album.year, Album.price_cents, Album.currency, Album.cover_key,
    Album.minimum_cents,  # pay what you want: the card says so instead of a price
)


def album_cards(dbsession, *, offset=0, limit=PAGE_SIZE):
    """A page of published albums, newest first. The page's ids come from an index-only scan of
    ``ix_albums_catalog_order``; only those rows are then read (a deferred join)."""
    page_ids = (
        select(Album.id)
        .where(Album.is_published.is_(True))
        .order_by(Album.id.desc())
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    return dbsession.execute(
        select(*CARD_COLUMNS).join(page_ids, Album.id == page_ids.c.id).order_by(Album.id.desc())
    ).all()


@view_config(route_name="home", renderer="album_store:templates/home.pt")
def home(request):
    return {"albums": album_cards(request.dbsession, limit=6)}


@view_config(route_name="catalog", renderer="album_store:templates/catalog/list.pt")
def catalog(request):
    raw_page = request.GET.get("page", "1")
    # isascii: str.isdigit() also takes digits int() refuses ("²").
    if not (raw_page.isascii() and raw_page.isdigit()) or len(raw_page) > 6 or int(raw_page) < 1:
        raise HTTPBadRequest("The page number must be a whole number from 1 up.")
    page = int(raw_page)
    # One row more than a page tells whether a next page exists, without counting the catalog.
    albums = album_cards(request.dbsession, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
    if not albums and page > 1:
        raise HTTPNotFound(f"There is no page {page} of the catalog.")
    return {"albums": albums[:PAGE_SIZE], "page": page, "has_next": len(albums) > PAGE_SIZE}


def share_tags(request, album):
    """What a shared link shows (Open Graph) and what search engines read (schema.org MusicAlbum with
    its offer): the cover, the price (or, for pay what you want, the minimum), the tracks."""
    import json

    url = request.route_url("album", slug=album.slug)
    image = cover_url(request, album, 600, absolute=True)
    lowest = album.minimum_cents if album.name_your_price else album.price_cents
    price_words = (f"pay what you want, from {format_money(lowest, album.currency)}" if album.name_your_price
                   else format_money(album.price_cents, album.currency))
    description = f"{album.title} by {album.artist}: {len(album.tracks)} tracks, {price_words}."
    data = {
        "@context": "https://schema.org", "@type": "MusicAlbum", "name": album.title, "url": url, "image": image,
        "byArtist": {"@type": "MusicGroup", "name": album.artist}, "numTracks": len(album.tracks),
        "track": [{"@type": "MusicRecording", "name": t.title, "position": t.position,
                   "duration": f"PT{t.duration_seconds // 60}M{t.duration_seconds % 60}S"} for t in album.tracks],
        "offers": {"@type": "Offer", "url": url, "price": format_amount_input(lowest, album.currency),
                   "priceCurrency": album.currency.upper(), "availability": "https://schema.org/InStock"},
    }
    if album.year:
        data["datePublished"] = str(album.year)
    # In a <script> element, "</" would end it: written as "<\/" (JSON reads it the same).
    return {"url": url, "image": image, "description": description,
            "json_ld": json.dumps(data, ensure_ascii=False).replace("</", "<\\/")}


def album_page(request, album, *, error=None, price_changed=None, amount_error=None, notice=None):
    """The album page's values; the buy route renders it again with the card's error, or with
    ``price_changed`` (why nothing was charged) when the page the buyer paid from showed another price.

    ``amount_error``: why the buyer's own amount was refused (pay what you want); ``notice``: what
    happened instead of a payment (a free download's confirmation link was mailed).

    The page as first shown is the same for every visitor who is not signed in (it is cached):
    its form's CSRF token is filled in by static/csrf.js. A re-rendered page (after a declined
    card or a price change) answers one visitor's POST, so it carries their token itself.
    """
    payments = request.find_service(IPaymentService)
    price = format_money(album.price_cents, album.currency)
    choose = choose_price(request, album)
    checkout = {
        "data-key": payments.publishable_key,
        "data-amount": str(album.price_cents),
        "data-currency": album.currency,
        "data-name": request.registry.settings["store.name"],
        "data-description": f"{album.title} — {album.artist}",
        "data-image": cover_url(request, album, 160, absolute=True),
        "data-locale": "auto",
        "data-label": f"Buy '{album.title}' for {price}",
        "data-panel-label": "Pay {{amount}}",
        "data-allow-remember-me": "false",
    }
    owned = None
    if request.user is not None:
        checkout["data-email"] = request.user.email  # Checkout then skips its email field
        owned = request.find_service(IPurchaseService).owned_purchase(request.user, album)
    flow = request.registry.settings["store.payment_flow"]
    card_payment = None
    if flow == PAYMENT_INTENTS:
        # The card form: when the buyer first presses Pay, static/card-payment.js asks for this
        # page's attempt id (the page itself is cached for every visitor, so it cannot carry one),
        # starts the payment and mounts Stripe.js's Payment Element for its PaymentIntent.
        card_payment = {
            "action": request.route_path("album_payment_intent", slug=album.slug),
            "stripe_js_url": payments.stripe_js_url,
            "attributes": {
                "data-key": payments.publishable_key,
                "data-amount": str(album.price_cents),
                "data-currency": album.currency,
                "data-attempt-url": request.route_path("payment_attempt"),
                **({"data-minimum": str(album.minimum_cents), "data-digits": str(choose["digits"]),
                    "data-free-url": request.route_path("album_free_download", slug=album.slug)} if choose else {}),
            },
            "email": request.user.email if request.user is not None else "",
        }
    return {
        "album": album,
        "price": price,
        "payment_flow": flow,
        "checkout": checkout,
        "checkout_js_url": payments.checkout_js_url,
        "card_payment": card_payment,
        "error": error,
        "price_changed": price_changed,
        "amount_error": amount_error,
        "notice": notice,
        "choose": choose,
        "csrf_token": get_csrf_token(request) if error or price_changed or amount_error or notice else None,
        "owned": owned,  # a signed-in buyer's paid purchase of it: no second buy button
        # Stripe Tax on the hosted page: say before the buyer leaves whether tax comes on top.
        "tax": request.registry.settings.get("store.tax", "off") if flow == CHECKOUT_SESSION else "off",
        "previews": {t.id: request.route_path("preview", filename=t.preview_filename.rsplit("/", 1)[-1])
                     for t in album.tracks if t.preview_filename},
        "preview_seconds": PREVIEW_SECONDS,
        "formats": [FORMATS[key] for key in offered_formats(album)],
        "share": share_tags(request, album),
    }


def choose_price(request, album):
    """Pay what you want: what the album page's amount field needs (None for a fixed price). The
    field is prefilled with the suggestion; the page says the minimum (and that 0 is a free download
    when the minimum is 0) and the maximum the store takes (``pricing.maximum_for``)."""
    if not album.name_your_price:
        return None
    currency = album.currency
    minimum = album.minimum_cents
    return {
        "suggested": format_amount_input(album.price_cents, currency),
        "suggested_label": format_money(album.price_cents, currency),
        "minimum": minimum,
        "minimum_label": format_money(minimum, currency),
        "maximum_label": format_money(maximum_for(album), currency),
        "free": minimum == 0,
        "digits": minor_unit_digits(currency),
        "currency_code": currency.upper(),
        # checkout_js: StripeCheckout.configure(...).open({amount}) in static/choose-price.js
        "checkout": {
            "data-key": payments_key(request),
            "data-currency": currency,
            "data-digits": str(minor_unit_digits(currency)),
            "data-minimum": str(minimum),
            "data-minimum-label": format_money(minimum, currency),
            "data-charge-minimum": str(minimum_charge(currency) or 0),
            "data-charge-minimum-label": format_money(minimum_charge(currency) or 0, currency),
            "data-name": request.registry.settings["store.name"],
            "data-description": f"{album.title} — {album.artist}",
            "data-image": cover_url(request, album, 160, absolute=True),
            "data-email": request.user.email if request.user is not None else "",
        },
    }


def payments_key(request):
    return request.find_service(IPaymentService).publishable_key


@view_config(route_name="album", renderer="album_store:templates/catalog/album.pt")
def album(context, request):
    return album_page(request, context)


@view_config(route_name="album_cover", http_cache=86400)
def album_cover(context, request):
    response = Response(cover_svg(context.title, context.artist), content_type="image/svg+xml", charset="utf-8")
    if not context.is_published:  # an unpublished album's, shown to its owner: no shared cache keeps it
        response.cache_control.private = True
    response.md5_etag()
    response.conditional_response = True  # a matching If-None-Match gets a 304
    return response


@view_config(route_name="cover_image", request_method=("GET", "HEAD"))
def cover_image(request):
    """An uploaded cover at one of its sizes. Its address names one upload, so it never changes:
    browsers and proxies may keep it for a year without asking again."""
    raw_size = request.matchdict["size"]
    size = int(raw_size) if raw_size.isascii() and raw_size.isdigit() and len(raw_size) < 5 else None
    name = request.find_service(IMediaStorage).cover_name(request.matchdict["key"], size) if size else None
    response = request.find_service(IFileStorage).response(request, name, content_type="image/jpeg") if name else None
    if response is None:
        raise HTTPNotFound("There is no cover at this address.")
    response.cache_control = "public, max-age=31536000, immutable"
    return response


@view_config(route_name="preview", request_method=("GET", "HEAD"))
def preview(request):
    """A track's preview (never the track itself). Its name is its content's hash: cached for a year;
    Range requests get 206 and the bytes asked for, so players can seek. Served by the store from
    wherever the storage keeps it (a bucket too), so its address stays the store's own."""
    name = request.find_service(IAudioService).preview_name(request.matchdict["filename"])
    response = request.find_service(IFileStorage).response(request, name, content_type="audio/mpeg") if name else None
    if response is None:
        raise HTTPNotFound("There is no preview at this address.")
    response.cache_control = "public, max-age=31536000, immutable"
    response.accept_ranges = "bytes"
    response.conditional_response = True
    return response


@view_config(route_name="csrf_token", renderer="json")
def csrf_token(request):
    """This visitor's CSRF token (also set as the ``csrf_token`` cookie), for static/csrf.js."""
    request.response.cache_control.private = True
    request.response.cache_control.no_store = True
    return {"token": get_csrf_token(request)}


@view_config(route_name="favicon", http_cache=86400 * 7)
def favicon(request):
    return FileResponse(str(FAVICON), request=request, content_type="image/svg+xml")
