"""`python -m serving.cli rights-due`: erasure requests carried out once their waiting
period (`CHURN_ERASURE_WAIT_DAYS`) is over, and the open requests past their deadline
counted. Run by the nightly batch job after scoring (`make score`), or by hand."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from serving.config import Settings
from serving.isotime import when

COMMANDS = ("rights-due",)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add `rights-due` to the serving CLI."""
    p = sub.add_parser(
        "rights-due", help="carry out the erasure requests whose waiting period "
        "(CHURN_ERASURE_WAIT_DAYS) is over, audited; print them and the overdue count")
    p.add_argument("--now", type=when, default=None,
                   help="act as if it were this time (ISO, UTC): a rehearsal on a copy")


def carry_out(settings: Settings, now: datetime | None = None) -> dict:
    """One pass over the due erasures (its own database connection); what it did."""
    from serving.rights import service
    from serving.storage import Database, upgrade

    db = Database(settings.database_url)
    try:
        if settings.migrate_on_start:
            upgrade(db.engine)
        errors: list[str] = []
        with db.session() as session:
            run = service.carry_out_due(
                session, settings, now=now,
                on_error=lambda rid, exc: errors.append(f"{rid}: {getattr(exc, 'detail', exc)}"))
        for line in errors:
            print(f"rights-due: not carried out {line}", file=sys.stderr)
        return run.model_dump()
    finally:
        db.dispose()


def run(args: argparse.Namespace, settings: Settings) -> int:
    out = carry_out(settings, args.now)
    print(json.dumps(out, indent=2))
    return 1 if out["failed"] else 0
