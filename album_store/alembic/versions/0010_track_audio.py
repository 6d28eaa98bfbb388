"""track audio: each track's master file, its preview, and each album's downloads by format

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:30:00

A track may have the audio its owner uploaded (``audio_filename``, relative to ``store.files_dir``,
probed as WAV, FLAC, AIFF or MP3: ``audio_format``) and the browser preview the job queue makes of it
(``preview_filename``, named by its content's hash). ``audio_state`` is where that work stands for the
owner's editor (none, queued, working, ready, failed) with ``audio_progress`` (0-100) and
``audio_error``. ``album_formats`` keeps one ZIP per album and download format, with the key of what
it was built from (``content_key``): it is built again only when that changes.
"""

import sqlalchemy as sa

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tracks") as batch_op:
        batch_op.add_column(sa.Column("audio_filename", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("audio_format", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("preview_start_seconds", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("preview_filename", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("audio_state", sa.String(length=16), nullable=False, server_default="none"))
        batch_op.add_column(sa.Column("audio_progress", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("audio_error", sa.Text(), nullable=True))
        batch_op.create_check_constraint("preview_start_not_negative", "preview_start_seconds >= 0")
        batch_op.create_check_constraint("audio_progress_percent", "audio_progress BETWEEN 0 AND 100")
    op.create_table(
        "album_formats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("album_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("content_key", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_album_formats_progress_percent")),
        sa.ForeignKeyConstraint(
            ["album_id"], ["albums.id"], name=op.f("fk_album_formats_album_id_albums"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_album_formats")),
        sa.UniqueConstraint("album_id", "format", name="uq_album_formats_album_id_format"),
    )


def downgrade():
    op.drop_table("album_formats")
    with op.batch_alter_table("tracks") as batch_op:
        batch_op.drop_constraint("audio_progress_percent", type_="check")
        batch_op.drop_constraint("preview_start_not_negative", type_="check")
        for column in (
            "audio_error",
            "audio_progress",
            "audio_state",
            "preview_filename",
            "preview_start_seconds",
            "audio_format",
            "audio_filename",
        ):
            batch_op.drop_column(column)
