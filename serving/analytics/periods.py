"""Which periods an outside auditor may read (issue 18): whole calendar quarters that have
ended, each as it stood when it ended.

Cell suppression hides a count of 1 to k-1 in one answer. Two answers over overlapping
periods undo it: [Jan, Apr) minus [Feb, Apr) is January, however small. The same holds
across time: the same quarter read before and after a decision differs by that decision.
So an outside reader gets figures over one fixed partition of time (calendar quarters,
UTC), never an open or overlapping period, and only for a quarter that has ended, frozen
at its end: a dispute decided later still counts as open, a rights request answered later
as unanswered. No two answers an auditor can obtain then differ by a small cell (except
through an erasure, which removes a customer's records for every reader).

The operator's own reviewers and admins read any period, live: they see the disputes
themselves.

Every reader's period obeys the same two rules first (`resolve`): its bounds are read in
UTC (a date, or a time without an offset, is UTC) and must stay within the calendar once
there, and `until` comes after `since`. The API, the pages and the command line meet them
here, whichever way the bounds came in.

Pure functions: the services call them, the tests try them alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from serving.errors import InvalidInput, field_error
from serving.isotime import as_utc

_QUARTER = re.compile(r"^\s*(\d{4})-?[Qq]([1-4])\s*$")
# datetime's own range, with a quarter either side (a quarter's end is the next one's start)
FIRST_YEAR, LAST_YEAR = 2, 9999
FIX = ("ask for one whole calendar quarter that has ended: quarter=YYYY-Qn (e.g. "
       "quarter=2026-Q2), or since and until on its bounds (since=2026-04-01, "
       "until=2026-07-01); nothing at all reads the last ended quarter")


@dataclass(frozen=True)
class Quarter:
    """A calendar quarter, UTC: [since, until)."""

    year: int
    q: int  # 1..4

    @property
    def since(self) -> datetime:
        return datetime(self.year, 3 * self.q - 2, 1, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return self.next().since

    @property
    def last_day(self) -> datetime:
        """The quarter's last day (midnight UTC), for people: `until` is excluded."""
        return self.until - timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.q}"

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.q == 4 else Quarter(self.year, self.q + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.q == 1 else Quarter(self.year, self.q - 1)

    @classmethod
    def of(cls, t: datetime) -> Quarter:
        """The quarter `t` (UTC) falls in."""
        t = as_utc(t)
        return cls(t.year, (t.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """`2026-Q2` (or `2026Q2`, any case); ValueError otherwise."""
        m = _QUARTER.match(text or "")
        if not m:
            raise ValueError(f"{text!r} is not a quarter like 2026-Q2")
        q = cls(int(m.group(1)), int(m.group(2)))
        if not FIRST_YEAR <= q.year < LAST_YEAR:
            raise ValueError(f"{text!r} is not a quarter from {FIRST_YEAR} to {LAST_YEAR - 1}")
        return q


def last_ended(now: datetime) -> Quarter:
    """The newest quarter that has ended by `now`."""
    return Quarter.of(now).previous()


def ended_since(first: datetime | None, now: datetime, most: int = 8) -> list[Quarter]:
    """The ended quarters from the one holding `first` (the oldest record) to the last,
    newest first, at most `most` of them (a page's shortcuts)."""
    q, out = last_ended(now), []
    start = Quarter.of(first) if first is not None else q
    while len(out) < most and (q.year, q.q) >= (start.year, start.q):
        out.append(q)
        q = q.previous()
    return out


def _refuse(loc: str, expected: str, got: object, detail: str) -> InvalidInput:
    return InvalidInput.naming(detail, [field_error(["query", loc], "period_not_allowed",
                                                    expected, got, FIX)])


# the instants a period's bound may name, once in UTC (datetime's own range)
BOUND_RANGE = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
AS_UTC = "a date, or a time without an offset, is read as UTC"


def bound(name: str, t: datetime | None) -> datetime | None:
    """A bound of a period (`since` or `until`) in UTC: a naive time is read as UTC (a date
    is its midnight, UTC); one whose offset takes it outside the calendar once in UTC
    (0001-01-01T00:00:00+14:00, 9999-12-31T23:59:59-14:00) is InvalidInput naming it."""
    if t is None:
        return None
    try:
        return as_utc(t)
    except OverflowError:
        raise InvalidInput.naming(
            f"{name} is outside the calendar once in UTC",
            [field_error(["query", name], "out_of_range",
                         f"an ISO 8601 date or date-time from {BOUND_RANGE} once in UTC "
                         f"({AS_UTC})", t.isoformat(),
                         f"give {name} within that range, e.g. {name}=2026-01-01 or "
                         f"{name}=2026-01-01T00:00:00Z, or leave it out for no bound")],
        ) from None


def in_order(since: datetime | None, until: datetime | None) -> None:
    """A period runs from `since` (included) to `until` (excluded): with both given, until
    must come after since, else InvalidInput naming until (an empty or reversed period
    would be answered with nothing, as if nothing had happened)."""
    if since is None or until is None or since < until:
        return
    raise InvalidInput.naming(
        "until does not come after since: the period is empty",
        [field_error(["query", "until"], "period_order",
                     f"a time after since={since.isoformat()} (the period runs from since, "
                     "included, to until, excluded)",
                     f"until={until.isoformat()}",
                     "give until later than since (swap them if they were reversed), or "
                     "leave one out for an open period")])


def resolve(since: datetime | None, until: datetime | None, quarter: str | None,
            ) -> tuple[datetime | None, datetime | None]:
    """The period asked for, by any reader, in UTC (`bound`; in order, `in_order`):
    `quarter` (YYYY-Qn) stands for its bounds and cannot be given with since or until."""
    since, until = bound("since", since), bound("until", until)
    if quarter is None or not quarter.strip():
        in_order(since, until)
        return since, until
    if since is not None or until is not None:
        raise _refuse("quarter", "either quarter or since/until, not both",
                      f"quarter={quarter}, since={since}, until={until}",
                      "give the period once: quarter, or since and until")
    try:
        q = Quarter.parse(quarter)
    except ValueError:
        raise _refuse("quarter", "a quarter like 2026-Q2", quarter,
                      "quarter is not a calendar quarter") from None
    return q.since, q.until


def for_outside_reader(since: datetime | None, until: datetime | None,
                       now: datetime) -> Quarter:
    """The quarter an outside auditor reads: no bounds at all is the last ended quarter;
    otherwise the bounds must be exactly one ended quarter's, else InvalidInput (422)."""
    now = as_utc(now)
    if since is None and until is None:
        return last_ended(now)
    if since is None or until is None:
        missing = "since" if since is None else "until"
        raise _refuse(missing, "both bounds of one calendar quarter", "nothing",
                      "an outside reader's period is a whole calendar quarter: an open "
                      "period could be subtracted from another to recover a suppressed count")
    try:
        q = Quarter.of(since)
        as_utc(until)
    except OverflowError:  # 0001-01-01 at +14:00 is before datetime's first UTC instant
        q = Quarter(0, 1)
    if not FIRST_YEAR <= q.year < LAST_YEAR:
        raise _refuse("since", f"a quarter that has ended (the last is "
                      f"{last_ended(now).label})", f"since={since.isoformat()}",
                      "the period is outside the calendar the service keeps")
    if as_utc(since) != q.since or as_utc(until) != q.until:
        raise _refuse("since", f"the bounds of one calendar quarter, e.g. since="
                      f"{q.since.date()} until={q.until.date()} ({q.label})",
                      f"since={as_utc(since).isoformat()}, until={as_utc(until).isoformat()}",
                      "an outside reader's period is one whole calendar quarter: overlapping "
                      "periods could be subtracted to recover a suppressed count")
    if q.until > now:
        raise _refuse("until", f"a quarter that has ended (the last is "
                      f"{last_ended(now).label})", q.label,
                      f"{q.label} has not ended: its figures would change as it goes on, "
                      "and two reads could be subtracted")
    return q
