"""The contest analytics (small cells suppressed: null): what `service.compute` builds and
the API, the page, the CSV and the compliance report show."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from serving.isotime import IsoDateTime, QuarterText

_UTC = ("an ISO 8601 date (2026-01-01: from its midnight) or date-time "
        "(2026-01-01T00:00:00Z); a date, or a time without an offset, is read as UTC; "
        "from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z once in UTC")


class PeriodQuery(BaseModel):
    """The period a reader asks for (the analytics' and the compliance report's query, API
    and pages alike: the pages read their forms with this model). The service's rules
    (`serving/analytics/periods.py`) then hold for every reader: until after since, the
    bounds within the calendar once in UTC, and an outside auditor's quarters."""

    since: IsoDateTime | None = Field(None, description="The period's start, included: " + _UTC)
    until: IsoDateTime | None = Field(
        None, description="The period's end, excluded (after since): " + _UTC)
    quarter: QuarterText | None = Field(
        None, description="A calendar quarter (UTC), e.g. 2026-Q2: instead of since/until")


class CellPublic(BaseModel):
    """One group of a table: its count (None: suppressed) and its share of the table."""

    group: str
    label: str
    count: int | None = Field(description="null: fewer than k (suppressed)")
    share: float | None = None
    mistaken_rate: float | None = Field(
        default=None, description="Sensitive groups: decided disputes judged mistaken "
        "(rectified or overturned)")
    per_thousand: float | None = Field(
        default=None, description="Sensitive groups: disputes per 1,000 customers")


class TablePublic(BaseModel):
    key: str  # by_feature | by_outcome | by_band | segment:<feature> | group:<attribute>
    title: str
    cells: list[CellPublic]
    total: int


class RatePublic(BaseModel):
    key: str
    numerator: int | None
    denominator: int | None
    rate: float | None = Field(description="null: over fewer than k cases (suppressed)")


class AnalyticsPublic(BaseModel):
    """Contest analytics: counts and rates only, never an individual."""

    k: int = Field(description="Counts from 1 to k-1 are suppressed (CHURN_ANALYTICS_MIN_CELL)")
    since: datetime | None
    until: datetime | None
    as_of: datetime | None = Field(None, description=(
        "Set for an outside auditor: the figures as they stood at this time (the period's "
        "end); a dispute decided later counts as open"))
    disputes: int
    decided: int
    open: int
    overdue_open: int | None
    scored_customers: int
    median_days: float | None
    p90_days: float | None
    tables: list[TablePublic]
    rates: list[RatePublic]
    groups_available: bool

    def table(self, key: str) -> TablePublic | None:
        return next((t for t in self.tables if t.key == key), None)

    def rate(self, key: str) -> RatePublic | None:
        return next((r for r in self.rates if r.key == key), None)
