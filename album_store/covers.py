"""Album covers: the owner's uploaded image when there is one, else artwork drawn as SVG from the
album's title and artist (so the demo needs no image files)."""

import hashlib
from xml.sax.saxutils import escape

PALETTES = [
    ("#1d3557", "#e63946", "#f1faee"),
    ("#2b2d42", "#ef8354", "#edf2f4"),
    ("#283618", "#dda15e", "#fefae0"),
    ("#3d405b", "#81b29a", "#f4f1de"),
    ("#22223b", "#c9ada7", "#f2e9e4"),
    ("#003049", "#fcbf49", "#eae2b7"),
    ("#432818", "#bb9457", "#ffe6a7"),
    ("#0b090a", "#e5383b", "#f5f3f4"),
]


def cover_svg(title, artist):
    digest = hashlib.sha256(f"{title}\n{artist}".encode()).digest()
    background, accent, ink = PALETTES[digest[0] % len(PALETTES)]
    cx, cy = 120 + digest[1] % 360, 120 + digest[2] % 240
    rings = "".join(
        f'<circle cx="{cx}" cy="{cy}" r="{40 + i * (18 + digest[3] % 14)}" fill="none" '
        f'stroke="{accent}" stroke-opacity="{0.85 - i * 0.1:.2f}" stroke-width="{2 + digest[4 + i] % 9}"/>'
        for i in range(7)
    )
    bars = "".join(
        f'<rect x="{i * 40}" y="{470 - digest[10 + i] % 90}" width="26" height="{digest[10 + i] % 90 + 130}" '
        f'fill="{accent}" fill-opacity="0.35"/>'
        for i in range(15)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 600" width="600" height="600" '
        f'role="img" aria-label="{escape(title, {chr(34): "&quot;"})} by {escape(artist, {chr(34): "&quot;"})}">'
        f'<rect width="600" height="600" fill="{background}"/>{rings}{bars}'
        f'<text x="36" y="520" font-family="Georgia, serif" font-size="44" font-weight="bold" fill="{ink}">'
        f"{escape(_fit(title, 22))}</text>"
        f'<text x="38" y="562" font-family="Helvetica, Arial, sans-serif" font-size="24" letter-spacing="3" '
        f'fill="{ink}" fill-opacity="0.8">{escape(_fit(artist.upper(), 34))}</text></svg>'
    )


def _fit(text, limit):
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cover_url(request, album, size, *, absolute=False):
    """Where the album's cover is at ``size`` pixels square: the uploaded one's resized file (its
    address changes with each upload, so it is cached for good), or the drawn SVG."""
    url = request.route_url if absolute else request.route_path
    if album.cover_key:
        return url("cover_image", key=album.cover_key, size=size)
    return url("album_cover", slug=album.slug)
