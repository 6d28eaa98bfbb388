"""a covering index for the dashboard's sums, and one for a buyer's library

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 11:00:00

The dashboard sums sales by period, by day and by album over every purchase. With every column
those sums read in one index, they scan the index alone instead of the purchases' rows (on 100,000
purchases: about 1.5 s before, well under the 250 ms target after; see bench/RESULTS.md). A buyer's
library reads their own purchases, newest first, through (user_id, status, paid_at).
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = ["status", "paid_at", "currency", "album_id", "amount_cents", "amount_refunded_cents"]


def upgrade():
    with op.batch_alter_table("purchases") as batch_op:
        batch_op.drop_index("ix_purchases_paid_at")
        batch_op.create_index("ix_purchases_sales", COLUMNS, unique=False)
        batch_op.create_index("ix_purchases_library", ["user_id", "status", "paid_at"], unique=False)


def downgrade():
    with op.batch_alter_table("purchases") as batch_op:
        batch_op.drop_index("ix_purchases_library")
        batch_op.drop_index("ix_purchases_sales")
        batch_op.create_index("ix_purchases_paid_at", ["paid_at"], unique=False)
