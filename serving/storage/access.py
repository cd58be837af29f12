"""Contact addresses, access links and server-side sessions (issue 15). Only hashes of
link and session secrets are stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select, text, update
from sqlalchemy.orm import Session

from serving.storage.tables import AccessLink, AuthSession, Customer, CustomerContact, utcnow


# -- contact addresses -----------------------------------------------------------------------
def set_contact(session: Session, customer_ref: str, address: str, lang: str,
                actor: str) -> None:
    row = session.get(CustomerContact, customer_ref)
    if row is None:
        session.add(CustomerContact(customer_ref=customer_ref, address=address, lang=lang,
                                    updated_at=utcnow(), updated_by=actor))
    else:
        row.address, row.lang, row.updated_at, row.updated_by = address, lang, utcnow(), actor


def contact(session: Session, customer_ref: str) -> tuple[str, str] | None:
    """(address, lang) of the customer, None when none is known."""
    row = session.get(CustomerContact, customer_ref)
    return (row.address, row.lang) if row is not None else None


def upsert_contacts(session: Session, rows: list[tuple[str, str]], actor: str) -> int:
    """Store many (customer_ref, address) at once (the customer base file), in the
    caller's transaction: a known customer's address is replaced (their language kept),
    a customer not stored (erased, or never scored) gets none. Rows stored."""
    if not rows:
        return 0
    from serving.storage.bulk import storage_time

    dialect = session.get_bind().dialect.name
    at = storage_time(dialect, utcnow())
    sql = text("INSERT INTO customer_contacts (customer_ref, address, lang, updated_at, "
               "updated_by) SELECT :ref, :address, 'en', :at, :by WHERE EXISTS (SELECT 1 "
               "FROM customers WHERE customer_ref = :known) ON CONFLICT (customer_ref) DO "
               "UPDATE SET address = excluded.address, updated_at = excluded.updated_at, "
               "updated_by = excluded.updated_by")
    known: set[str] = set()
    refs = sorted({r for r, _ in rows})
    for i in range(0, len(refs), 1000):
        known.update(session.scalars(select(Customer.customer_ref).where(
            Customer.customer_ref.in_(refs[i:i + 1000]))))
    rows = [(r, a) for r, a in rows if r in known]
    if rows:  # EXISTS again: a customer erased meanwhile gets no address
        session.execute(sql, [{"ref": r, "known": r, "address": a, "at": at, "by": actor}
                              for r, a in rows])  # one name per use: PostgreSQL types each
    return len(rows)


def contact_lang(session: Session, customer_ref: str) -> str:
    found = contact(session, customer_ref)
    return found[1] if found else "en"


# -- access links ----------------------------------------------------------------------------
@dataclass(frozen=True)
class LinkRow:
    id: str
    customer_ref: str
    channel: str
    issued_by: str
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


def _link(row: AccessLink) -> LinkRow:
    return LinkRow(row.id, row.customer_ref, row.channel, row.issued_by, row.expires_at,
                   row.used_at, row.revoked_at)


def insert_link(session: Session, customer_ref: str, token_hash: str, channel: str,
                issued_by: str, expires_at: datetime) -> str:
    row = AccessLink(customer_ref=customer_ref, token_hash=token_hash, channel=channel,
                     issued_by=issued_by, created_at=utcnow(), expires_at=expires_at)
    session.add(row)
    session.flush()
    return row.id


def link_by_hash(session: Session, token_hash: str, *, lock: bool = False) -> LinkRow | None:
    q = select(AccessLink).where(AccessLink.token_hash == token_hash)
    if lock:
        q = q.with_for_update()
    row = session.scalars(q).first()
    return _link(row) if row is not None else None


def link(session: Session, link_id: str | None) -> LinkRow | None:
    row = session.get(AccessLink, link_id) if link_id else None
    return _link(row) if row is not None else None


def use_link(session: Session, link_id: str) -> bool:
    """Mark the link used; False when another request used it first."""
    done = session.execute(update(AccessLink).where(AccessLink.id == link_id,
                                                    AccessLink.used_at.is_(None))
                           .values(used_at=utcnow()))
    return done.rowcount == 1


def revoke_links(session: Session, customer_ref: str) -> int:
    done = session.execute(update(AccessLink).where(AccessLink.customer_ref == customer_ref,
                                                    AccessLink.used_at.is_(None),
                                                    AccessLink.revoked_at.is_(None))
                           .values(revoked_at=utcnow()))
    return done.rowcount


def delete_customer_links(session: Session, customer_ref: str) -> int:
    return session.execute(delete(AccessLink).where(AccessLink.customer_ref == customer_ref)
                           .execution_options(synchronize_session=False)).rowcount


# -- sessions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionRow:
    id: str
    kind: str
    user_id: str | None
    role: str | None
    customer_ref: str | None
    link_id: str | None
    expires_at: datetime


def insert_session(session: Session, token_hash: str, kind: str, expires_at: datetime, *,
                   user_id: str | None = None, role: str | None = None,
                   customer_ref: str | None = None, link_id: str | None = None) -> str:
    row = AuthSession(token_hash=token_hash, kind=kind, user_id=user_id, role=role,
                      customer_ref=customer_ref, link_id=link_id, created_at=utcnow(),
                      expires_at=expires_at)
    session.add(row)
    session.flush()
    return row.id


_LIVE = select(AuthSession.id, AuthSession.kind, AuthSession.user_id, AuthSession.role,
               AuthSession.customer_ref, AuthSession.link_id, AuthSession.expires_at)


def live_session(conn: Connection | Session, token_hash: str) -> SessionRow | None:
    """The session holding this secret, if not revoked nor expired."""
    row = conn.execute(_LIVE.where(AuthSession.token_hash == token_hash,
                                   AuthSession.revoked_at.is_(None))).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return SessionRow(*row)


def revoke_session(session: Session, token_hash: str) -> int:
    return session.execute(update(AuthSession).where(AuthSession.token_hash == token_hash,
                                                     AuthSession.revoked_at.is_(None))
                           .values(revoked_at=utcnow())).rowcount


def revoke_user_sessions(session: Session, user_id: str) -> int:
    return session.execute(update(AuthSession).where(AuthSession.user_id == user_id,
                                                     AuthSession.revoked_at.is_(None))
                           .values(revoked_at=utcnow())).rowcount


def revoke_customer_sessions(session: Session, customer_ref: str) -> int:
    return session.execute(update(AuthSession).where(AuthSession.customer_ref == customer_ref,
                                                     AuthSession.revoked_at.is_(None))
                           .values(revoked_at=utcnow())).rowcount


def delete_customer_sessions(session: Session, customer_ref: str) -> int:
    return session.execute(delete(AuthSession).where(AuthSession.customer_ref == customer_ref)
                           .execution_options(synchronize_session=False)).rowcount
