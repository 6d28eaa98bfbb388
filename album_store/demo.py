"""The demo catalog that ``album-store initdb CONFIG --demo`` seeds: invented artists, real-looking prices.

Prices are chosen so that a Float would get them wrong (19.99, 9.95, 0.29 + …): they are cents here.
Seeding is idempotent: an album whose slug exists is left alone.
"""
from sqlalchemy import select

from .models import Album, Track

DEMO_ALBUMS = [
    {
        "slug": "blue-skies", "title": "Blue Skies", "artist": "The Paper Lanterns", "year": 2024,
        "price_cents": 999, "published": True,
        "description": "Sunlit indie pop recorded live to tape in a barn outside Galway.",
        "tracks": [("Morning Ferry", 214), ("Blue Skies", 241), ("Kites", 187), ("Harbour Lights", 263),
                   ("Paper Lantern", 199), ("Slow Tide", 305), ("Salt & Vinegar", 176), ("Goodnight, Lighthouse", 288)],
    },
    {
        "slug": "night-bus-home", "title": "Night Bus Home", "artist": "The Paper Lanterns", "year": 2021,
        "price_cents": 1999, "published": True,
        "description": "The debut: ten songs about the last bus, the first light and everything between.",
        "tracks": [("Last Orders", 198), ("Night Bus Home", 232), ("Sodium Orange", 207), ("Upper Deck", 185),
                   ("Ticket Machine", 169), ("Rain on the Window", 274), ("Terminus", 251), ("Heading South", 223),
                   ("Four A.M.", 196), ("First Light", 318)],
    },
    {
        "slug": "low-frequencies", "title": "Low Frequencies", "artist": "Marta Kovač Trio", "year": 2023,
        "price_cents": 995, "published": True,
        "description": "Late-night jazz for piano, upright bass and brushes.",
        "tracks": [("Prelude in Grey", 156), ("Low Frequencies", 412), ("Brushes", 355), ("Zagreb, 3 A.M.", 389),
                   ("Standing Wave", 301), ("Coda", 144)],
    },
    {
        "slug": "standing-waves", "title": "Standing Waves", "artist": "Marta Kovač Trio", "year": 2019,
        "price_cents": 1295, "published": True,
        "description": "Recorded in one afternoon, no overdubs: the trio as it sounds in a small room.",
        "tracks": [("Node", 287), ("Antinode", 301), ("Resonance", 420), ("Overtone Song", 263),
                   ("Harmonic Series", 377), ("Damping", 198), ("Fundamental", 452)],
    },
    {
        "slug": "copper-and-salt", "title": "Copper & Salt", "artist": "Hollow Pines", "year": 2022,
        "price_cents": 799, "published": True,
        "description": "Folk songs from the coast, sung in three-part harmony.",
        "tracks": [("Copper & Salt", 221), ("The Net Mender", 244), ("Gulls", 132), ("Widow's Walk", 276),
                   ("Low Water", 209), ("Herring Season", 238), ("Lantern Hill", 262), ("Sea Shanty No. 9", 181),
                   ("Home Port", 295)],
    },
    {
        "slug": "evergreen-ep", "title": "Evergreen (EP)", "artist": "Hollow Pines", "year": 2020,
        "price_cents": 329, "published": True,
        "description": "Six songs recorded around one microphone.",
        "tracks": [("Evergreen", 203), ("Pine Needles", 188), ("Winter Light", 241), ("Cabin Fever", 176),
                   ("Snowline", 229), ("Thaw", 264)],
    },
    {
        "slug": "unreleased-demos", "title": "Unreleased Demos", "artist": "The Paper Lanterns", "year": 2025,
        "price_cents": 1499, "published": False,
        "description": "Not out yet: the shop owner is still deciding.",
        "tracks": [("Sketch One", 140), ("Sketch Two", 151), ("Sketch Three", 166), ("Sketch Four", 133),
                   ("Sketch Five", 170), ("Sketch Six", 149)],
    },
]


def seed_demo_catalog(dbsession, currency="usd"):
    """Add the demo albums that are missing; return how many were added."""
    existing = set(dbsession.scalars(select(Album.slug).where(Album.slug.in_([a["slug"] for a in DEMO_ALBUMS]))))
    added = 0
    for data in DEMO_ALBUMS:
        if data["slug"] in existing:
            continue
        album = Album(
            slug=data["slug"], title=data["title"], artist=data["artist"], year=data["year"],
            description=data["description"], price_cents=data["price_cents"], currency=currency,
            is_published=data["published"],
        )
        album.tracks = [
            Track(position=position, title=title, duration_seconds=seconds)
            for position, (title, seconds) in enumerate(data["tracks"], start=1)
        ]
        dbsession.add(album)
        added += 1
    dbsession.flush()
    return added
