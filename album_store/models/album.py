from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, UTCDateTime, utcnow


class Album(Base):
    __tablename__ = "albums"
    __table_args__ = (
        CheckConstraint("price_cents > 0", name="price_positive"),
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
    price_cents: Mapped[int] = mapped_column(Integer)
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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    album_id: Mapped[int] = mapped_column(ForeignKey("albums.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    duration_seconds: Mapped[int] = mapped_column(Integer)

    album: Mapped[Album] = relationship(back_populates="tracks")
