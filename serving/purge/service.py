"""The retention schedule (issue 18, GDPR Art. 5(1)(e)): delete what is no longer needed.

`make purge` (`python -m serving.cli purge [--dry-run]`) and every `make score` (unless
CHURN_PURGE_AFTER_BATCH=false) run it. A record is due once it has been *closed* for
longer than its setting; in this order, in one transaction:

1. retention tasks done or cancelled, last changed more than `CHURN_RETENTION_TASKS_DAYS`
   ago (open and claimed tasks are never due);
2. disputes decided more than `CHURN_RETENTION_DISPUTES_DAYS` ago, with their decision,
   idempotency key and blind judgement (open disputes are never due);
3. customer notices sent or failed more than `CHURN_RETENTION_NOTICES_DAYS` ago, and
   link messages (`access_link`) after `CHURN_RETENTION_OUTBOX_DAYS` (pending messages
   are never due);
4. receipts (predictions) made more than `CHURN_RETENTION_PREDICTIONS_DAYS` ago that
   nothing kept refers to: not a customer's latest (the risk list shows it), not the
   subject of a dispute still kept, not the source of a task still kept, not the new
   prediction of a rectification still kept. A withdrawn (overturned) receipt is kept as
   long as its dispute, and so keeps refusing a re-score on the same data meanwhile.

The audit log is never purged: its rows hold pseudonyms, ids and enums only (never
content), and deleting one would break the chain. The purge itself is audited
(`retention.purged`: the counts per kind and the cutoffs), and the chain still verifies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.config import Settings
from serving.storage import purge as store
from serving.storage.db import write_lock
from serving.storage.tables import Dispute, OutboxMessage, Prediction, RetentionTask

KINDS = ("tasks", "disputes", "notices", "link_messages", "predictions")
ACTOR = "retention-purge"


@dataclass
class PurgeReport:
    """What a purge deleted (or, dry, would delete), per kind, and the cutoffs used."""

    dry_run: bool
    at: str
    cutoffs: dict[str, str]
    deleted: dict[str, int] = field(default_factory=dict)
    # decisions (and blind judgements) go with their disputes
    with_disputes: dict[str, int] = field(default_factory=dict)
    audit_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cutoffs(settings: Settings, now: datetime) -> dict[str, datetime]:
    """The date before which each kind's closed records are due."""
    days = {"tasks": settings.retention_tasks_days,
            "disputes": settings.retention_disputes_days,
            "notices": settings.retention_notices_days,
            "link_messages": settings.retention_outbox_days,
            "predictions": settings.retention_predictions_days}
    return {k: now - timedelta(days=d) for k, d in days.items()}


def purge(session: Session, settings: Settings, *, now: datetime | None = None,
          dry_run: bool = False, actor: str = ACTOR) -> PurgeReport:
    """Delete what the retention schedule says is due and audit it; committed. With
    `dry_run`, the same deletions are made and rolled back: the exact counts, nothing
    changed and nothing audited."""
    now = now or datetime.now(UTC)
    cut = cutoffs(settings, now)
    report = PurgeReport(dry_run=dry_run, at=now.isoformat(timespec="seconds"),
                         cutoffs={k: v.isoformat(timespec="seconds") for k, v in cut.items()})
    with write_lock(session):
        tasks = store.due_tasks(session, cut["tasks"])
        disputes = store.due_disputes(session, cut["disputes"])
        notices = store.due_messages(session, cut["notices"], notices=True)
        links = store.due_messages(session, cut["link_messages"], notices=False)
        report.with_disputes = store.dependants(session, disputes)
        report.deleted = {
            "tasks": store.delete_ids(session, RetentionTask, tasks),
            "disputes": store.delete_ids(session, Dispute, disputes),
            "notices": store.delete_ids(session, OutboxMessage, notices),
            "link_messages": store.delete_ids(session, OutboxMessage, links),
        }
        session.flush()
        report.deleted["predictions"] = store.delete_ids(
            session, Prediction, store.due_predictions(session, cut["predictions"]))
        if dry_run:  # the very same deletions, undone: exactly what would go
            session.rollback()
            return report
        report.audit_seq = audit.append(
            session, actor, audit.RETENTION_PURGED,
            objects={**report.deleted, **report.with_disputes,
                     **{f"cutoff_{k}": v for k, v in report.cutoffs.items()}})
        session.commit()
    return report


def run(settings: Settings, *, dry_run: bool = False) -> PurgeReport:
    """The purge on the configured database (the CLI and the batch job)."""
    from serving.storage import Database, upgrade

    db = Database(settings.database_url)
    try:
        if settings.migrate_on_start:
            upgrade(db.engine)
        with db.session() as session:
            return purge(session, settings, dry_run=dry_run)
    finally:
        db.dispose()
