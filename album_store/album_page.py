"""The album page's values: what ``templates/catalog/album.pt`` shows, for the album route and for
every answer that shows the album page again (a declined card, a changed price, a refused amount, a
free download's notice). Not a view module, so the views that re-render the page share it without
importing one another."""

import json
from types import SimpleNamespace

from pyramid.csrf import get_csrf_token

from .caching import is_shared_page
from .covers import cover_url
from .money import format_amount_input, format_money, minor_unit_digits
from .pricing import maximum_for
from .services.audio import FORMATS, PREVIEW_SECONDS, offered_formats
from .services.payments import IPaymentService
from .services.purchases import IPurchaseService
from .settings import CHECKOUT_JS, CHECKOUT_SESSION, PAYMENT_INTENTS
from .stripe_amounts import minimum_charge

#: The flow names as the template compares them (``payment_flow == flows.CHECKOUT_JS``).
FLOWS = SimpleNamespace(CHECKOUT_JS=CHECKOUT_JS, PAYMENT_INTENTS=PAYMENT_INTENTS, CHECKOUT_SESSION=CHECKOUT_SESSION)

ALBUM_TEMPLATE = "album_store:templates/catalog/album.pt"


def share_tags(request, album):
    """What a shared link shows (Open Graph) and what search engines read (schema.org MusicAlbum with
    its offer): the cover, the price (or, for pay what you want, the minimum), the tracks."""
    url = request.route_url("album", slug=album.slug)
    image = cover_url(request, album, 600, absolute=True)
    lowest = album.minimum_cents if album.name_your_price else album.price_cents
    price_words = (
        f"pay what you want, from {format_money(lowest, album.currency)}"
        if album.name_your_price
        else format_money(album.price_cents, album.currency)
    )
    description = f"{album.title} by {album.artist}: {len(album.tracks)} tracks, {price_words}."
    data = {
        "@context": "https://schema.org",
        "@type": "MusicAlbum",
        "name": album.title,
        "url": url,
        "image": image,
        "byArtist": {"@type": "MusicGroup", "name": album.artist},
        "numTracks": len(album.tracks),
        "track": [
            {
                "@type": "MusicRecording",
                "name": t.title,
                "position": t.position,
                "duration": f"PT{t.duration_seconds // 60}M{t.duration_seconds % 60}S",
            }
            for t in album.tracks
        ],
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": format_amount_input(lowest, album.currency),
            "priceCurrency": album.currency.upper(),
            "availability": "https://schema.org/InStock",
        },
    }
    if album.year:
        data["datePublished"] = str(album.year)
    # In a <script> element, "</" would end it: written as "<\/" (JSON reads it the same).
    return {
        "url": url,
        "image": image,
        "description": description,
        "json_ld": json.dumps(data, ensure_ascii=False).replace("</", "<\\/"),
    }


def album_page(request, album, *, error=None, price_changed=None, amount_error=None, notice=None):
    """The album page's values; the buy route renders it again with the card's error, or with
    ``price_changed`` (why nothing was charged) when the page the buyer paid from showed another price.

    ``amount_error``: why the buyer's own amount was refused (pay what you want); ``notice``: what
    happened instead of a payment (a free download's confirmation link was mailed).

    The page as first shown is the same for every visitor, signed in or not (it is cached): its
    form's CSRF token is filled in by static/csrf.js, and a signed-in buyer's email, owned box and
    nav by static/personal.js from the personal fragment (``buyer`` is then None here). A
    re-rendered page (after a declined card or a price change) answers one visitor's POST, so it
    carries their token, and their email, itself.
    """
    buyer = None if is_shared_page(request) else request.user
    payments = request.find_service(IPaymentService)
    price = format_money(album.price_cents, album.currency)
    choose = choose_price(request, album, buyer)
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
    if buyer is not None:
        checkout["data-email"] = buyer.email  # Checkout then skips its email field
        owned = request.find_service(IPurchaseService).owned_purchase(buyer, album)
    flow = request.payment_flow
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
                **(
                    {
                        "data-minimum": str(album.minimum_cents),
                        "data-digits": str(choose["digits"]),
                        "data-free-url": request.route_path("album_free_download", slug=album.slug),
                    }
                    if choose
                    else {}
                ),
            },
            "email": buyer.email if buyer is not None else "",
        }
    return {
        "album": album,
        "price": price,
        "payment_flow": flow,
        "flows": FLOWS,  # the template compares payment_flow with these, never with a spelled-out name
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
        "buyer": buyer,  # the signed-in buyer the page is rendered for; None on the shared page
        # Stripe Tax on the hosted page: say before the buyer leaves whether tax comes on top.
        "tax": request.registry.settings.get("store.tax", "off") if flow == CHECKOUT_SESSION else "off",
        "previews": {
            t.id: request.route_path("preview", filename=t.preview_filename.rsplit("/", 1)[-1])
            for t in album.tracks
            if t.preview_filename
        },
        "preview_seconds": PREVIEW_SECONDS,
        "formats": [FORMATS[key] for key in offered_formats(album)],
        "share": share_tags(request, album),
    }


def choose_price(request, album, buyer=None):
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
            # A signed-in buyer's (a re-rendered page); on the shared page static/personal.js sets it.
            **({"data-email": buyer.email} if buyer is not None else {}),
        },
    }


def payments_key(request):
    return request.find_service(IPaymentService).publishable_key
