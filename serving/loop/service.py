"""The loop's entry points for the API and the command line: churn events from a request
or a file, the contact-effect report, and the training export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from models import pseudonymise
from serving.auth.principal import Principal
from serving.config import Settings
from serving.loop import outcomes
from serving.loop.schemas import ChurnEventsIn, ChurnEventsPublic, EventProblem


def _public(counts: outcomes.EventCounts) -> ChurnEventsPublic:
    return ChurnEventsPublic(
        **counts.as_dict(),
        problems=[EventProblem(row=p.row, field=p.field, problem=p.problem,
                               detail=outcomes.PROBLEMS[p.problem])
                  for p in counts.rejected])


def record_events(session: Session, settings: Settings, body: ChurnEventsIn,
                  principal: Principal) -> ChurnEventsPublic:
    """`POST /v1/churn-events`: pseudonymise, validate and record (`outcomes`)."""
    events = outcomes.pseudonymised(((e.customer_id, e.left_on) for e in body.events),
                                    settings.pseudonym_secret)
    counts = outcomes.record_churn_events(session, events, principal, source="api")
    out = _public(counts)
    for p in out.problems:
        p.field = f"events.{p.row}.{'customer_id' if p.field == 'customer_id' else 'left_on'}"
    return out


class OutcomesFileError(ValueError):
    """A churn-events file that cannot be read: names the row and column, and the fix."""


ID_COLUMNS = ("customer_id", "customerID", "customer")
DATE_COLUMNS = ("left_on", "churn_date", "date")


@dataclass
class FileEvents:
    rows: list[tuple[str, date, int]]  # customer id, day left, row in the file
    id_column: str
    date_column: str


def read_events_file(path: str | Path, id_column: str | None = None,
                     date_column: str | None = None) -> FileEvents:
    """A CSV of departures (UTF-8, comma-separated, a header): a customer id column
    (`customer_id`, `customerID` or `customer`, or `id_column`) and a date column
    (`left_on`, `churn_date` or `date`, or `date_column`; ISO dates, 2026-10-31: the API's
    rule, `outcomes.day_left`). Each value is read as written (csv quoting keeps spaces):
    the id is the customer the API would score under it. Every problem names its row (as
    numbered in the file, the header being row 1) and column."""
    from serving.scoring.schemas import CUSTOMER_ID_RULE, customer_id_ok

    path = Path(path)
    if not path.is_file():
        raise OutcomesFileError(f"{path}: no such file; give a CSV of customer id and date "
                                "(columns customer_id,left_on)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OutcomesFileError(f"{path}: not UTF-8 text ({exc.reason} at byte "
                                f"{exc.start}); save it as a UTF-8 CSV") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise OutcomesFileError(f"{path}: the file is empty; expected a header "
                                "customer_id,left_on and one row per departure")
    header = [h.strip() for h in header]

    def pick(given: str | None, names: tuple[str, ...], what: str) -> int:
        if given is not None:
            if given not in header:
                raise OutcomesFileError(f"{path}: no column {given!r} (columns: "
                                        f"{', '.join(header)}); name the {what} column")
            return header.index(given)
        for name in names:
            if name in header:
                return header.index(name)
        raise OutcomesFileError(
            f"{path}: no {what} column: expected one of {', '.join(names)}, found "
            f"{', '.join(header) or 'none'}; rename it or pass --{what.split()[-1]}-column")

    i_id = pick(id_column, ID_COLUMNS, "customer id")
    i_date = pick(date_column, DATE_COLUMNS, "date")
    rows: list[tuple[str, date, int]] = []
    problems: list[str] = []
    for n, record in enumerate(reader, start=2):
        if not record or all(not c.strip() for c in record):
            continue
        if len(record) != len(header):
            problems.append(f"row {n}: {len(record)} fields, the header has {len(header)} "
                            "(a comma inside a value must be quoted)")
            continue
        # both as written, as the API takes them: the id's spaces are part of it (the API
        # scores " SPX2" and "SPX2" as two customers), the day follows the API's rule
        cid, raw_day = record[i_id], record[i_date]
        if not customer_id_ok(cid):
            problems.append(f"row {n}, column {header[i_id]}: {cid[:40]!r} is not a "
                            f"customer id ({CUSTOMER_ID_RULE})")
            continue
        try:
            day = outcomes.day_left(raw_day)
        except ValueError as exc:
            problems.append(f"row {n}, column {header[i_date]}: {exc}")
            continue
        rows.append((cid, day, n))
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise OutcomesFileError(f"{path}: {len(problems)} rows cannot be read, nothing was "
                                "recorded:\n  " + "\n  ".join(problems[:10]) + more)
    return FileEvents(rows, header[i_id], header[i_date])


def record_file(session: Session, settings: Settings, path: str | Path, actor: str,
                id_column: str | None = None, date_column: str | None = None
                ) -> tuple[outcomes.EventCounts, FileEvents]:
    """`serving.cli outcomes`: read the whole file first (a bad row records nothing),
    then record its events like the API does (rows numbered as in the file)."""
    read = read_events_file(path, id_column, date_column)
    events = [outcomes.ChurnEventIn(pseudonymise(cid, settings.pseudonym_secret), day, n)
              for cid, day, n in read.rows]
    return outcomes.record_churn_events(session, events, actor, source="file"), read
