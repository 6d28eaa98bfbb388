from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, UTCDateTime, utcnow


class Album(Base):
    __tablename__ = "albums"
    __table_args__ = (
        CheckConstraint("price_cents > 0", name="price_positive"),
        CheckConstraint(
            "minimum_cents IS NULL OR (minimum_cents >= 0 AND minimum_cents <= price_cents)",
            name="minimum_within_suggested",
        ),
        # The catalog lists published albums newest first: this index serves the filter, the
        # ordering and the page offset (an index-only scan), whatever the catalog's size.
        Index("ix_albums_catalog_order", "is_published", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    artist: Mapped[str] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    # A fixed-price album's price; for "name your price" (``minimum_cents`` set) the suggested amount,
    # which the album page prefills (so it stays > 0 and at least the minimum).
    price_cents: Mapped[int] = mapped_column(Integer)
    # None: a fixed price. A number (0 or more): "name your price", the least a buyer may pay; 0 lets
    # a buyer take the album free (a free download, confirmed by email).
    minimum_cents: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)
    # The downloadable file (a ZIP of the tracks), relative to the ``store.files_dir`` setting.
    download_filename: Mapped[str | None] = mapped_column(String(255))
    # The uploaded cover's files in ``store.covers_dir`` are ``{cover_key}-{size}.jpg``; the key
    # changes with every upload, so the files can be cached forever. None: the drawn SVG cover.
    cover_key: Mapped[str | None] = mapped_column(String(64))
    # Archived: unpublished for good and out of the owner's everyday list (an album that has sold
    # can never be deleted: its purchases refer to it).
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    tracks: Mapped[list["Track"]] = relationship(
        back_populates="album", order_by="Track.position", cascade="all, delete-orphan"
    )
    formats: Mapped[list["AlbumFormat"]] = relationship(
        back_populates="album", order_by="AlbumFormat.format", cascade="all, delete-orphan"
    )

    @property
    def name_your_price(self):
        """The buyer chooses the amount (at least ``minimum_cents``); ``price_cents`` is the suggestion."""
        return self.minimum_cents is not None

    @property
    def is_archived(self):
        return self.archived_at is not None

    @property
    def running_time_seconds(self):
        return sum(track.duration_seconds for track in self.tracks)

    def __repr__(self):
        return f"<Album {self.slug!r}>"


class Track(Base):
    __tablename__ = "tracks"
    __table_args__ = (
        UniqueConstraint("album_id", "position", name="uq_tracks_album_id_position"),
        CheckConstraint("duration_seconds >= 0", name="duration_not_negative"),
        CheckConstraint("preview_start_seconds >= 0", name="preview_start_not_negative"),
        CheckConstraint("audio_progress BETWEEN 0 AND 100", name="audio_progress_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    album_id: Mapped[int] = mapped_column(ForeignKey("albums.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    duration_seconds: Mapped[int] = mapped_column(Integer)
    # The owner's upload (relative to ``store.files_dir``), probed as one of AUDIO_FORMATS; the
    # browser preview the job queue made of it, named by its content's hash.
    audio_filename: Mapped[str | None] = mapped_column(String(255))
    audio_format: Mapped[str | None] = mapped_column(String(8))
    preview_start_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    preview_filename: Mapped[str | None] = mapped_column(String(255))
    # Where the work on the audio stands, for the owner's editor (services/audio.py writes it).
    audio_state: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    audio_progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    audio_error: Mapped[str | None] = mapped_column(Text)

    album: Mapped[Album] = relationship(back_populates="tracks")

    @property
    def is_lossless(self):
        return self.audio_format in LOSSLESS_FORMATS


#: What an owner may upload as a track's audio (by its probed content), and which of them are lossless.
AUDIO_FORMATS = ("wav", "flac", "aiff", "mp3")
LOSSLESS_FORMATS = ("wav", "flac", "aiff")


class AlbumFormat(Base):
    """One album's download ZIP in one format, built by the job queue from the tracks' masters.
    ``content_key`` is the hash of everything it was built from (audio, titles, cover): the ZIP is
    built again only when that changes."""

    __tablename__ = "album_formats"
    __table_args__ = (
        UniqueConstraint("album_id", "format", name="uq_album_formats_album_id_format"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    album_id: Mapped[int] = mapped_column(ForeignKey("albums.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # queued, working, ready, failed
    progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    content_key: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    album: Mapped[Album] = relationship(back_populates="formats")
