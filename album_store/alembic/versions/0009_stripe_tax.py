"""Stripe Tax on Checkout Sessions: a purchase's tax behaviour and the tax Stripe computed

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:00:00
"""

import sqlalchemy as sa

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SALES_BEFORE = ["status", "paid_at", "currency", "album_id", "amount_cents", "amount_refunded_cents"]


def upgrade():
    with op.batch_alter_table("purchases") as batch_op:
        batch_op.add_column(sa.Column("tax_behavior", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("tax_cents", sa.Integer(), server_default="0", nullable=False))
    # The dashboard's sums read the tax too: keep them on the index alone.
    op.drop_index("ix_purchases_sales", table_name="purchases")
    op.create_index("ix_purchases_sales", "purchases", SALES_BEFORE + ["tax_behavior", "tax_cents"])


def downgrade():
    op.drop_index("ix_purchases_sales", table_name="purchases")
    op.create_index("ix_purchases_sales", "purchases", SALES_BEFORE)
    with op.batch_alter_table("purchases") as batch_op:
        batch_op.drop_column("tax_cents")
        batch_op.drop_column("tax_behavior")
