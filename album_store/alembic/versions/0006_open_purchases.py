"""one open purchase per buyer and album; a purchase's own description for Stripe

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:00:00

``buyer_album_key`` ("{album_id}:{email}") is set while a purchase is pending or paid and cleared
when it fails or is refunded; its unique constraint lets the database refuse a second open checkout
of one album by one buyer, whichever process it arrives on. Existing open purchases get it, the
oldest first. A later one of the same buyer and album, bought before this rule, gets a key of its own
(``legacy:{id}``): it was bought knowingly under the old rules, so it is not taken for a duplicate
(a paid purchase without a key), which reconcile would refund. ``description`` is what Stripe is
told, fixed when the purchase is recorded.
"""

import sqlalchemy as sa

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("purchases") as batch_op:
        batch_op.add_column(sa.Column("description", sa.String(length=500), server_default="", nullable=False))
        batch_op.add_column(sa.Column("buyer_album_key", sa.String(length=300), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_purchases_buyer_album_key"), ["buyer_album_key"])
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT p.id, p.album_id, p.email, p.status, a.title, a.artist FROM purchases p "
            "JOIN albums a ON a.id = p.album_id ORDER BY p.id"
        )
    ).all()
    taken = set()
    for purchase_id, album_id, email, status, title, artist in rows:
        key = None
        if status in ("pending", "paid"):
            key = f"{album_id}:{email.strip().lower()}"
            if key in taken:
                key = f"legacy:{purchase_id}"
            taken.add(key)
        connection.execute(
            sa.text("UPDATE purchases SET description = :description, buyer_album_key = :key WHERE id = :id"),
            {"description": f"{title} by {artist}"[:500], "key": key, "id": purchase_id},
        )


def downgrade():
    with op.batch_alter_table("purchases") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_purchases_buyer_album_key"), type_="unique")
        batch_op.drop_column("buyer_album_key")
        batch_op.drop_column("description")
