"""buyer accounts, library and downloads: confirmed emails, login attempts, album files, download counts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_confirmed_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("albums", schema=None) as batch_op:
        batch_op.add_column(sa.Column("download_filename", sa.String(length=255), nullable=True))

    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("download_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_downloaded_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("client_addr", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_email_attempted_at", ["email", "attempted_at"], unique=False)
        batch_op.create_index(
            "ix_login_attempts_client_addr_attempted_at", ["client_addr", "attempted_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_client_addr_attempted_at")
        batch_op.drop_index("ix_login_attempts_email_attempted_at")
    op.drop_table("login_attempts")

    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.drop_column("last_downloaded_at")
        batch_op.drop_column("download_count")

    with op.batch_alter_table("albums", schema=None) as batch_op:
        batch_op.drop_column("download_filename")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_confirmed_at")
