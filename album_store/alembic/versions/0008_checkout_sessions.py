"""the checkout_session flow: a purchase's Checkout Session and the browser that started it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:00:00
"""

import sqlalchemy as sa

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("purchases") as batch_op:
        batch_op.add_column(sa.Column("stripe_checkout_session_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("browser_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_purchases_stripe_checkout_session_id"), ["stripe_checkout_session_id"]
        )


def downgrade():
    with op.batch_alter_table("purchases") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_purchases_stripe_checkout_session_id"), type_="unique")
        batch_op.drop_column("browser_key")
        batch_op.drop_column("stripe_checkout_session_id")
