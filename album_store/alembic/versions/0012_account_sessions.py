"""account sessions kept in the database: signing out (or a password reset) really ends them

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:20:00

A signed-in browser's cookie names one row here by a random token (the row keeps only its SHA-256).
Every signed-in request looks the row up: signing out deletes it, "sign out everywhere" and a
password reset delete all of the account's, and a session unused for longer than its idle lifetime
(shorter for store owners) is over. Sessions signed in before this migration end: their cookies name
no row.
"""

import sqlalchemy as sa

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_account_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_sessions_token_hash")),
    )
    with op.batch_alter_table("account_sessions") as batch_op:
        batch_op.create_index(batch_op.f("ix_account_sessions_user_id"), ["user_id"], unique=False)


def downgrade():
    op.drop_table("account_sessions")
