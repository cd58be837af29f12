"""The outbox's rules: a message is queued in the caller's transaction (with the event
that causes it) and delivered later by `deliver_once`, run by a worker thread in the API
process (`Worker`, started by the lifespan) or by `python -m serving.cli deliver`.

Delivery: claim due messages (marked `sending` with a lease and committed, so a worker
killed mid-way leaves them to be taken again once the lease runs out), send each, record
the server's acceptance in the journal (`journal.py`), then mark it `sent` and drop its
body (which may hold a link: no token is kept or logged once sent). A message recovered
from a dead worker whose acceptance is in the journal is marked sent, not sent again. A
failure is retried with a growing delay up to `CHURN_DELIVERY_MAX_ATTEMPTS`, then the
message is `failed`. Every message carries a stable Message-ID.

Each message goes to its one address alone (`transport.py`), checked again when it is
sent by the rule every address is checked by where it enters
(`serving.customers.contacts.check`): an address that breaks it (one stored before the
rule was strict) is never sent to; its message is `failed` at once, not retried, with the
reason (which does not quote the address).

A notice that lifts a restriction (Art. 18(3), `serving.reviews.lifting`) lifts it in
the transaction that marks it sent; one that fails for good holds the restriction.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from serving.config import Settings
from serving.customers.contacts import AddressRefused
from serving.customers.contacts import check as check_address
from serving.delivery import messages
from serving.delivery.journal import Journal
from serving.delivery.transport import build, transport
from serving.reviews import lifting
from serving.storage import Database, outbox
from serving.storage import access as contacts
from serving.storage.db import write_lock

log = logging.getLogger(__name__)
_TOKEN = re.compile(r"(token=)[A-Za-z0-9_\-]+")


def redact(text: str) -> str:
    """The body without any link secret (what is kept once a message is sent)."""
    return _TOKEN.sub(r"\1[sent]", text)


def queue(session: Session, customer_ref: str, kind: str, created_by: str, *,
          link_id: str | None = None, lifts_restriction: bool = False,
          **values: str) -> str | None:
    """Queue a message to the customer's contact address, in the caller's transaction;
    None when no address is known (nothing can be sent). `lifts_restriction`: its
    delivery lifts the customer's restriction (Art. 18(3))."""
    found = contacts.contact(session, customer_ref)
    if found is None:
        return None
    address, lang = found
    subject, body = messages.render(kind, lang, **values)
    return outbox.insert(session, customer_ref=customer_ref, kind=kind, address=address,
                         subject=subject, body=body, created_by=created_by, link_id=link_id,
                         lifts_restriction=lifts_restriction)


def deliver_once(db: Database, settings: Settings, limit: int = 20) -> dict[str, int]:
    """Deliver the due messages once; counts of sent, recovered, retried and failed.

    Nothing lost: a message is `sent` only once the server accepted it. Nothing sent
    twice, but for one window: the server's acceptance is journalled before the database
    commit, so a worker killed in between leaves a message the next worker marks sent
    (`recovered`) without sending it. A kill after the server's 250 and before the
    journal entry is on disk still sends that message again, with the same Message-ID
    (see `journal.py`)."""
    counts = {"sent": 0, "recovered": 0, "retried": 0, "failed": 0}
    with db.session() as session:
        with write_lock(session):
            claimed = outbox.claim(
                session, timedelta(seconds=settings.delivery_lease_seconds), limit)
            session.commit()
    if not claimed:
        return counts
    sender = transport(settings)
    journal = Journal(settings.delivery_journal_dir).ready()
    for m in claimed:
        if journal.was_accepted(m.id):  # a dead worker's message the server had accepted
            _record_sent(db, journal, m, settings.task_due_days)
            counts["recovered"] += 1
            log.info("message %s (%s) was accepted before its worker stopped: recorded "
                     "sent, not sent again", m.id, m.kind)
            continue
        try:
            to = check_address(m.address) if m.address else None
        except AddressRefused as exc:  # never sent: a new contact address is the fix
            _refuse(db, m, exc)
            counts["failed"] += 1
            continue
        try:
            if to is None or m.body is None:
                raise ValueError("no address or body")
            sender.send(build(settings, m.id, to, m.subject, m.body), to.ascii,
                        accepted=lambda mid=m.id: journal.accepted(mid))
        except Exception as exc:  # noqa: BLE001 - any failure: recorded, retried
            if journal.was_accepted(m.id):  # accepted, then e.g. QUIT failed: it is sent
                _record_sent(db, journal, m, settings.task_due_days)
                counts["sent"] += 1
                continue
            error = f"{type(exc).__name__}: {exc}"
            final = m.attempts >= settings.delivery_max_attempts
            retry = None if final else datetime.now(UTC) + timedelta(
                seconds=min(3600, settings.delivery_retry_seconds * 2 ** (m.attempts - 1)))
            with db.session() as session, write_lock(session):
                outbox.failed(session, m.id, redact(error), retry)
                if final and m.lifts_restriction:
                    lifting.hold(session, m.customer_ref, m.id, m.attempts)
                session.commit()
            counts["failed" if final else "retried"] += 1
            log.warning("message %s (%s) not delivered, attempt %d: %s", m.id, m.kind,
                        m.attempts, redact(error)[:200])
            continue
        _record_sent(db, journal, m, settings.task_due_days)
        counts["sent"] += 1
        log.info("message %s (%s) delivered", m.id, m.kind)
    return counts


def _refuse(db: Database, m: outbox.MessageRow, exc: AddressRefused) -> None:
    """`m`'s address breaks the rule: the message is failed for good without being sent
    (a notice that would lift a restriction holds it, as any undeliverable one does);
    the reason names what is wrong and the fix, never the address."""
    error = ("AddressRefused: not sent nor retried: the contact address is not one plain "
             f"e-mail address ({exc.why[:100]}); fix: set the customer's contact address "
             "again (PUT /v1/customers/{customer_id}/contact): a held notice goes to it")
    with db.session() as session, write_lock(session):
        outbox.failed(session, m.id, redact(error), None)
        if m.lifts_restriction:
            lifting.hold(session, m.customer_ref, m.id, m.attempts)
        session.commit()
    log.warning("message %s (%s) not sent: its address breaks the address rule (%s)",
                m.id, m.kind, exc.why[:120])


def _record_sent(db: Database, journal: Journal, m: outbox.MessageRow, due_days: int) -> None:
    """Mark the message sent (its body redacted) and, for a notice that lifts a
    restriction, lift it in the same transaction (a task it opens is due `due_days`
    later); then drop its journal entry."""
    with db.session() as session, write_lock(session):
        outbox.sent(session, m.id, redact(m.body) if m.body is not None else None)
        if m.lifts_restriction:
            lifting.lift_after_notice(session, m.customer_ref, m.id, due_days)
        session.commit()
    journal.forget(m.id)


class Worker:
    """The delivery loop on a daemon thread (inside the API process)."""

    def __init__(self, db: Database, settings: Settings):
        self.db = db
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="churn-delivery", daemon=True)

    def start(self) -> Worker:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                deliver_once(self.db, self.settings)
            except Exception:  # noqa: BLE001 - the loop survives a database outage
                log.exception("delivery pass failed; retrying")
            self._stop.wait(self.settings.delivery_poll_seconds)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def run_forever(db: Database, settings: Settings) -> None:
    """`python -m serving.cli deliver`: the worker's loop in the foreground."""
    log.info("delivering the outbox every %.1fs (%s)", settings.delivery_poll_seconds,
             "SMTP" if settings.smtp_url else f"mailbox {settings.mailbox_dir}")
    worker = Worker(db, settings)
    try:
        worker._run()
    except KeyboardInterrupt:
        pass


def status(session: Session, customer_ref: str) -> list[outbox.MessageRow]:
    return outbox.for_customer(session, customer_ref)
