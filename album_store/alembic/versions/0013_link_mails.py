"""link mails sent, so mail-sending forms are limited per address and per client

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 17:45:00

Each confirmation, password-reset or free-download link mailed is a row (the address it went to and
the client that asked); a form asking for more than the limit within the hour sends nothing more
(and answers as it always does). Rows older than the window are deleted as new ones arrive.
"""

import sqlalchemy as sa

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "link_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("client_addr", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_mails")),
    )
    with op.batch_alter_table("link_mails") as batch_op:
        batch_op.create_index("ix_link_mails_email_sent_at", ["email", "sent_at"], unique=False)
        batch_op.create_index("ix_link_mails_client_addr_sent_at", ["client_addr", "sent_at"], unique=False)


def downgrade():
    op.drop_table("link_mails")
