"""issue-15: unique staff names; a notice that lifts a restriction once delivered.

- `staff_users`: a unique index on `lower(name)`, so two users can never share a name
  whatever its case (the service's check alone raced on PostgreSQL, and the bootstrap
  path did not check at all). Existing duplicates are **renamed**, not refused: a
  migration that fails would stop the service from starting, with nothing an operator
  could do from the CLI (which names users by name). The oldest user keeps the name;
  each later one becomes "<name> (2)", "(3)"... (the first free such name). Tokens,
  roles and audit history are untouched (the audit log names users by id); each rename
  is logged as a warning naming the user id, old and new name.
- `outbox.lifts_restriction` (Art. 18(3)): the notice whose delivery lifts a customer's
  restriction; the worker lifts it in the transaction that records the notice sent.
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"

log = logging.getLogger("alembic.runtime.migration")


def _rename_duplicates(conn: sa.Connection) -> None:
    users = sa.table("staff_users", sa.column("id", sa.String), sa.column("name", sa.String),
                     sa.column("created_at", sa.DateTime))
    rows = conn.execute(sa.select(users.c.id, users.c.name)
                        .order_by(users.c.created_at, users.c.id)).all()
    # lower() as the database computes it for the index: Python's lower() agrees on ASCII
    # and PostgreSQL's on the rest; SQLite lowers ASCII only, so compare that way there
    ascii_only = conn.dialect.name == "sqlite"

    def key(name: str) -> str:
        if ascii_only:
            return "".join(c.lower() if c.isascii() else c for c in name)
        return name.lower()

    taken = {key(name) for _, name in rows}
    seen: set[str] = set()
    for uid, name in rows:
        k = key(name)
        if k not in seen:
            seen.add(k)
            continue
        n = 2
        while key(f"{name} ({n})") in taken:
            n += 1
        new = f"{name} ({n})"
        taken.add(key(new))
        seen.add(key(new))
        conn.execute(sa.update(users).where(users.c.id == uid).values(name=new))
        log.warning("staff user %s was named %r like an older user: renamed %r (names are "
                    "unique from migration 0012 on)", uid, name, new)


def upgrade() -> None:
    _rename_duplicates(op.get_bind())
    op.create_index("uq_staff_users_name_lower", "staff_users", [sa.text("lower(name)")],
                    unique=True)
    op.add_column("outbox", sa.Column("lifts_restriction", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("outbox", "lifts_restriction")
    op.drop_index("uq_staff_users_name_lower", table_name="staff_users")
