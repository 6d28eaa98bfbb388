"""pay what you want: an album's minimum, a purchase's minimum and free downloads

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 17:00:00

``albums.minimum_cents``: NULL for a fixed-price album (today's way); a number (0 or more) makes the
album "name your price" with that minimum, and then ``albums.price_cents`` holds the *suggested*
amount, which the album page prefills (so it stays > 0, and is at least the minimum; the contract's
``data-amount`` is the price of fixed-price albums only).

``purchases.minimum_cents``: the album's minimum when the buyer chose the amount (NULL: a fixed
price), so the owner's figures compare what buyers chose with what they had to pay. A free download
(the minimum was 0 and so was the amount) is a purchase of ``amount_cents = 0``: the check becomes
``amount_cents >= 0``.
"""

import sqlalchemy as sa

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("albums") as batch_op:
        batch_op.add_column(sa.Column("minimum_cents", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "minimum_within_suggested", "minimum_cents IS NULL OR (minimum_cents >= 0 AND minimum_cents <= price_cents)"
        )
    with op.batch_alter_table("purchases") as batch_op:
        batch_op.add_column(sa.Column("minimum_cents", sa.Integer(), nullable=True))
        batch_op.drop_constraint("amount_positive", type_="check")
        batch_op.create_check_constraint("amount_not_negative", "amount_cents >= 0")
        batch_op.create_check_constraint("minimum_not_negative", "minimum_cents IS NULL OR minimum_cents >= 0")


def downgrade():
    # Free downloads cannot exist before this revision: they go with it.
    op.execute("DELETE FROM purchases WHERE amount_cents = 0")
    with op.batch_alter_table("purchases") as batch_op:
        batch_op.drop_constraint("minimum_not_negative", type_="check")
        batch_op.drop_constraint("amount_not_negative", type_="check")
        batch_op.create_check_constraint("amount_positive", "amount_cents > 0")
        batch_op.drop_column("minimum_cents")
    with op.batch_alter_table("albums") as batch_op:
        batch_op.drop_constraint("minimum_within_suggested", type_="check")
        batch_op.drop_column("minimum_cents")
