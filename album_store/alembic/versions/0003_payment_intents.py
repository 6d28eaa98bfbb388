"""payment intents: the attempt id of a payment_intents checkout and its PaymentIntent's id

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_purchases_attempt_id"), ["attempt_id"])
        batch_op.create_unique_constraint(
            batch_op.f("uq_purchases_stripe_payment_intent_id"), ["stripe_payment_intent_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_purchases_stripe_payment_intent_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_purchases_attempt_id"), type_="unique")
        batch_op.drop_column("stripe_payment_intent_id")
        batch_op.drop_column("attempt_id")
