"""the sales summary: the dashboard's figures per day and per album, kept by triggers on purchases

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 23:50:00

The dashboard summed every sold purchase on each request (≈ 0.5 s over 100,000 on SQLite, seconds
over 1,000,000). ``sales_by_day`` (UTC day × currency) and ``sales_by_album`` (album × currency)
hold those sums; triggers on ``purchases`` keep them in the same transaction as any write to a
purchase (insert, the columns the figures read, delete), on SQLite and PostgreSQL: each subtracts the
row's old contribution and adds the new one, the addition an UPSERT (``n = n + excluded.n``) so
concurrent sales add up rather than overwrite. The backfill sums the purchases there are, in the same
transaction that creates the triggers (on PostgreSQL, creating a trigger locks out writers to
``purchases`` until the commit, so no sale is counted twice or missed).

A purchase counts while ``paid`` or ``refunded`` with a ``paid_at``, on the UTC day of ``paid_at``,
for its net: ``Purchase.net_cents`` (paid less refunded, less the tax in what is left), the same
integer arithmetic (the tax product in 64 bits, truncating division of non-negative integers).
"""

import sqlalchemy as sa

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

#: The columns the figures read: an update setting none of them (a download count) fires nothing.
READ = (
    "status, paid_at, currency, album_id, amount_cents, amount_refunded_cents, tax_behavior, tax_cents, minimum_cents"
)

TRIGGERS = (
    "purchases_summary_insert",
    "purchases_summary_delete",
    "purchases_summary_update_old",
    "purchases_summary_update_new",
)


def _sold(r):
    return f"({r}.status IN ('paid', 'refunded') AND {r}.paid_at IS NOT NULL)"


def _net(r):
    charged = f"({r}.amount_cents + CASE WHEN {r}.tax_behavior = 'exclusive' THEN {r}.tax_cents ELSE 0 END)"
    kept = f"({charged} - {r}.amount_refunded_cents)"
    # A zero charge with tax is never recorded; guarded anyway, so no write to a purchase can fail here.
    return (
        f"(CASE WHEN {r}.tax_cents = 0 OR {charged} = 0 THEN {kept} "
        f"ELSE {kept} - (CAST({r}.tax_cents AS BIGINT) * {kept}) / {charged} END)"
    )


def _paid(r, condition="TRUE"):
    return f"(CASE WHEN {r}.status = 'paid' AND {condition} THEN 1 ELSE 0 END)"


def _chosen(r, value="1", condition="TRUE"):
    return f"(CASE WHEN {r}.status = 'paid' AND {r}.minimum_cents IS NOT NULL AND {condition} THEN {value} ELSE 0 END)"


def _day(r, dialect):
    if dialect == "postgresql":
        return f"CAST(({r}.paid_at AT TIME ZONE 'UTC') AS DATE)"
    return f"date({r}.paid_at)"  # SQLite keeps UTC text: '2026-11-28 10:00:00.000000'


def _day_values(r, dialect):
    return {
        "day": _day(r, dialect),
        "currency": f"{r}.currency",
        "purchases": "1",
        "sales": _paid(r),
        "revenue_cents": _net(r),
    }


def _album_values(r):
    return {
        "album_id": f"{r}.album_id",
        "currency": f"{r}.currency",
        "purchases": "1",
        "sales": _paid(r),
        "revenue_cents": _net(r),
        "chosen": _chosen(r),
        "chosen_free": _chosen(r, condition=f"{r}.amount_cents = 0"),
        "chosen_more": _chosen(r, condition=f"{r}.amount_cents > {r}.minimum_cents"),
        "chosen_cents": _chosen(r, f"{r}.amount_cents"),
        "chosen_over_cents": _chosen(r, f"{r}.amount_cents - {r}.minimum_cents"),
    }


KEYS = {"sales_by_day": ("day", "currency"), "sales_by_album": ("album_id", "currency")}


def _add(table, values):
    """An UPSERT adding one purchase's figures to its row (created at 0 if it is the first)."""
    keys = KEYS[table]
    counted = [name for name in values if name not in keys]
    return (
        f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join(values.values())}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
        + ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in counted)
    )


def _subtract(table, values):
    """Take one purchase's figures off its row (which holds them: the purchase was counted there)."""
    keys = KEYS[table]
    counted = [name for name in values if name not in keys]
    return (
        f"UPDATE {table} SET "
        + ", ".join(f"{name} = {name} - {values[name]}" for name in counted)
        + " WHERE "
        + " AND ".join(f"{name} = {values[name]}" for name in keys)
    )


def _adds(r, dialect):
    return [_add("sales_by_day", _day_values(r, dialect)), _add("sales_by_album", _album_values(r))]


def _subtracts(r, dialect):
    return [_subtract("sales_by_day", _day_values(r, dialect)), _subtract("sales_by_album", _album_values(r))]


def _create_sqlite_triggers():
    def trigger(name, event, condition, statements):
        body = "".join(f"    {statement};\n" for statement in statements)
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON purchases WHEN {condition}\nBEGIN\n{body}END")

    trigger("purchases_summary_insert", "INSERT", _sold("NEW"), _adds("NEW", "sqlite"))
    trigger("purchases_summary_delete", "DELETE", _sold("OLD"), _subtracts("OLD", "sqlite"))
    trigger("purchases_summary_update_old", f"UPDATE OF {READ}", _sold("OLD"), _subtracts("OLD", "sqlite"))
    trigger("purchases_summary_update_new", f"UPDATE OF {READ}", _sold("NEW"), _adds("NEW", "sqlite"))


def _create_postgresql_trigger():
    # OR REPLACE: dropping the tables (the test suite's cleanup, ``metadata.drop_all``) leaves the
    # function behind; the trigger goes with its table.
    def block(statements):
        return "".join(f"            {statement};\n" for statement in statements)

    op.execute(
        "CREATE OR REPLACE FUNCTION purchases_summary() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "    IF TG_OP IN ('UPDATE', 'DELETE') THEN\n"
        f"        IF {_sold('OLD')} THEN\n{block(_subtracts('OLD', 'postgresql'))}        END IF;\n"
        "    END IF;\n"
        "    IF TG_OP IN ('INSERT', 'UPDATE') THEN\n"
        f"        IF {_sold('NEW')} THEN\n{block(_adds('NEW', 'postgresql'))}        END IF;\n"
        "    END IF;\n"
        "    RETURN NULL;\n"
        "END\n"
        "$$"
    )
    op.execute(
        f"CREATE TRIGGER purchases_summary AFTER INSERT OR DELETE OR UPDATE OF {READ} ON purchases "
        "FOR EACH ROW EXECUTE FUNCTION purchases_summary()"
    )


def _backfill(dialect):
    for table, values in (("sales_by_day", _day_values("p", dialect)), ("sales_by_album", _album_values("p"))):
        keys = KEYS[table]
        sums = ", ".join(values[name] if name in keys else f"SUM({values[name]})" for name in values)
        op.execute(
            f"INSERT INTO {table} ({', '.join(values)}) SELECT {sums} FROM purchases p WHERE {_sold('p')} "
            f"GROUP BY {', '.join(values[name] for name in keys)}"
        )


def upgrade():
    op.create_table(
        "sales_by_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("purchases", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sales", sa.Integer(), server_default="0", nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "currency", name=op.f("pk_sales_by_day")),
    )
    op.create_table(
        "sales_by_album",
        sa.Column("album_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("purchases", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sales", sa.Integer(), server_default="0", nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("chosen", sa.Integer(), server_default="0", nullable=False),
        sa.Column("chosen_free", sa.Integer(), server_default="0", nullable=False),
        sa.Column("chosen_more", sa.Integer(), server_default="0", nullable=False),
        sa.Column("chosen_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("chosen_over_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["album_id"], ["albums.id"], name=op.f("fk_sales_by_album_album_id_albums"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("album_id", "currency", name=op.f("pk_sales_by_album")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _create_postgresql_trigger()
    else:
        _create_sqlite_triggers()
    _backfill(dialect)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS purchases_summary ON purchases")
        op.execute("DROP FUNCTION IF EXISTS purchases_summary()")
    else:
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("sales_by_album")
    op.drop_table("sales_by_day")
