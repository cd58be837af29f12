"""The scrutiny pages' period (contest analytics, compliance report): the quarter picker,
and the period asked for read as the API reads it.

Calendar quarters: an outside auditor may read nothing else, and only quarters that have
ended (serving/analytics/periods.py says why); the operator's staff may also read all time,
or any dates. The pages read `since`, `until` and `quarter` with the API's own model
(`PeriodQuery`) and pass them to the same service; what the API refuses with a 422, the page
shows on its period form, in the page's language (`form_errors`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy.orm import Session

from serving.analytics import service
from serving.analytics.periods import Quarter, last_ended
from serving.analytics.schemas import PeriodQuery
from serving.auth.principal import Principal
from serving.errors import InvalidInput, from_validation

FIELDS = ("since", "until", "quarter")


@dataclass(frozen=True)
class Periods:
    """What the picker offers and which entry is chosen ("" for all time)."""

    quarters: list[Quarter]
    chosen: str
    outside: bool


def picker(session: Session, reader: Principal, quarter: str | None,
           now: datetime | None = None) -> Periods:
    """The ended quarters since the first dispute (the newest eight), the reader's choice
    (an auditor's default: the last ended quarter) and whether they are an outside reader."""
    now = now or datetime.now(UTC)
    quarters = service.quarters_on_offer(session, now)
    chosen = (quarter or "").strip()
    try:
        chosen = Quarter.parse(chosen).label if chosen else ""
    except ValueError:
        chosen = ""
    if reader.outside and not chosen:
        chosen = last_ended(now).label
    return Periods(quarters=quarters, chosen=chosen, outside=reader.outside)


@dataclass(frozen=True)
class Asked:
    """The period as the page's query sent it (text: the form shows it back as written);
    an empty field is no bound."""

    since: str = ""
    until: str = ""
    quarter: str = ""

    @classmethod
    def of(cls, since: str | None, until: str | None, quarter: str | None) -> Asked:
        return cls(*((v or "").strip() for v in (since, until, quarter)))

    def query(self) -> dict[str, str]:
        """The fields given (the links to the downloads carry them)."""
        return {k: getattr(self, k) for k in FIELDS if getattr(self, k)}

    def request(self) -> PeriodQuery:
        """The same request the API takes (its model, its types), else InvalidInput naming
        each field the API would refuse."""
        try:
            return PeriodQuery.model_validate(self.query())
        except ValidationError as exc:
            errors = from_validation(exc.errors(), prefix=("query",))
            raise InvalidInput.naming(
                "the period could not be read: " + "; ".join(
                    f"{e.field}: expected {e.expected}, got {e.got}" for e in errors),
                errors) from None


def form_errors(exc: InvalidInput, asked: Asked, t: Callable[..., str],
                outside: bool) -> dict[str, str] | None:
    """The service's refusal of the period as the form shows it: a message per field, in
    the page's language (None: the refusal is not about the period)."""
    out: dict[str, str] = {}
    for e in exc.field_errors():
        name = e.field
        if name not in FIELDS:
            return None
        value = (getattr(asked, name) or e.got)[:40]
        if e.problem == "out_of_range":
            message = t("period_err_range", value=value)
        elif e.problem == "period_order":
            message = t("period_err_order")
        elif e.problem == "period_not_allowed":
            message = t("period_err_outside") if outside else t("period_err_both")
        elif name == "quarter":
            message = t("period_err_quarter", value=value)
        else:
            message = t("cr_bad_date", value=value)
        out.setdefault(name, message)
    return out or None
