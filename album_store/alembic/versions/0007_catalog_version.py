"""the catalog's version stamp, which every process's page cache checks

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00

One row (id 1), bumped in the same transaction as any change to an album or its tracks (a session
event in ``album_store/models/catalog_version.py``). Each process's page cache keeps a page with the
stamp it was rendered under and serves it only while the stamp is unchanged, so an owner's change
reaches every process and host at once instead of within ``store.page_cache_seconds``.
"""

import sqlalchemy as sa

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalog_version_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_version")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 0}])


def downgrade():
    op.drop_table("catalog_version")
