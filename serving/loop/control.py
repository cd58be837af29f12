"""The randomised control group: pure functions, no I/O.

Of the predictions that would open a retention task, a share (`CHURN_CONTROL_FRACTION`)
opens none, so that the team can measure whether contact helps (intention to treat). The
draw is a keyed hash (HMAC-SHA256) of the customer's pseudonym and the campaign period, so
re-scoring a customer in the same period never re-draws, a new period draws afresh, and
nobody without the key (agents included) can tell or steer who is held out. The key is
derived from the pseudonym key, never that key itself.

**Who is drawn.** A receipt that would open a task (route `human_contact`), unless its
customer still has an open or claimed task created in an *earlier* campaign period (drawn
then, not yet done): such a customer is not in this period's experiment. Their receipt
gets no arm and keeps its route, and their task stays open (pointed at the newer receipt
like any open task); had they been drawn `control`, an agent would still call a held-out
customer from the old task. The rule is decided before the draw, the same whichever arm
the draw would give, so the two arms stay comparable. A customer whose open task was
created in the current period is drawn as usual: the same draw as when it opened, the
same arm. Callers pass those customers as `carried` (`carried_over`, or the storage's
read of them in the write's transaction).

The arm is recorded on the receipt (`predictions.arm`); a held-out receipt's route is
`none` with a neutral reason that does not name the arm.

**Agents never see the draw** (`agent_route`). While a control group runs, every receipt
drawn into an arm reads the same to an agent, whichever the arm: the `CAMPAIGN` route, which
says honestly that some of the campaign's customers are not contacted and that only
customers with a task are called. Held-out customers are off the agents' risk list
(`serving.storage.risk_list`), where a high score without a task would stand out;
reviewers, admins and the data scientist see the arm (receipts as stored, the dashboard,
the training export). The customer's own page says that some customers are not contacted.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from serving.isotime import as_utc
from serving.routing import Route
from serving.storage.receipts import PredictionRow, TaskRow

Arm = Literal["contact", "control"]
PERIODS = ("month", "quarter", "year")

# What a held-out prediction's receipt says: true, and the same words whatever the score,
# so that it names no arm (agents read routes; only the arm column says "control").
HELD_OUT = Route(
    "none",
    "No retention contact is proposed for this customer in this campaign period.",
)


# What an agent reads as the route of any receipt drawn into an arm while a control group
# runs: the same for both arms, true for both (the draw decides who of the campaign's
# customers gets a task; the queue lists them).
CAMPAIGN = Route(
    "human_contact",
    "This customer is in this period's retention campaign. Call only the customers who "
    "have a task in the retention queue: some of the campaign's customers, drawn at random, "
    "get no task, so that the team can measure whether contact helps.",
)
ARMS = ("contact", "control")


def agent_route(action: str, reason: str, arm: str | None, control_fraction: float) -> Route:
    """The route an agent reads for a receipt: `CAMPAIGN` for a receipt drawn into either
    arm while a control group runs (a held-out receipt always: one drawn under an earlier
    setting), else the receipt's own route. Pure."""
    if arm == "control" or (arm in ARMS and control_fraction > 0):
        return CAMPAIGN
    return Route(action, reason)  # type: ignore[arg-type]


class ControlSettings(Protocol):
    control_fraction: float
    campaign_period: str
    targeting: str
    pseudonym_secret: str


def arm_key(secret: str) -> bytes:
    """The control draw's key, derived from the pseudonym key (HMAC with a fixed label):
    the same in every process of one deployment, unrelated to the pseudonyms."""
    return hmac.new(secret.encode("utf-8"), b"churn-control-arm/v1", hashlib.sha256).digest()


def campaign_period(when: datetime, settings: ControlSettings | str = "month") -> str:
    """The campaign period `when` falls in (UTC): "2026-11" (month), "2026-Q4" (quarter)
    or "2026" (year), from `CHURN_CAMPAIGN_PERIOD` or the period length given."""
    length = settings if isinstance(settings, str) else settings.campaign_period
    when = as_utc(when)
    if length == "month":
        return f"{when.year:04d}-{when.month:02d}"
    if length == "quarter":
        return f"{when.year:04d}-Q{(when.month - 1) // 3 + 1}"
    if length == "year":
        return f"{when.year:04d}"
    raise ValueError(f"campaign period {length!r} is not one of {', '.join(PERIODS)}")


def period_start(when: datetime, length: str = "month") -> datetime:
    """The first instant (UTC) of the campaign period `when` falls in (`length`: month,
    quarter or year, as `campaign_period`)."""
    when = as_utc(when)
    if length == "month":
        return datetime(when.year, when.month, 1, tzinfo=UTC)
    if length == "quarter":
        return datetime(when.year, (when.month - 1) // 3 * 3 + 1, 1, tzinfo=UTC)
    if length == "year":
        return datetime(when.year, 1, 1, tzinfo=UTC)
    raise ValueError(f"campaign period {length!r} is not one of {', '.join(PERIODS)}")


def draw(customer_ref: str, period: str, key: bytes) -> float:
    """Uniform in [0, 1): the first 64 bits of HMAC-SHA256(key, period | pseudonym)."""
    digest = hmac.new(key, f"{period}|{customer_ref}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_arm(customer_ref: str, period: str, fraction: float, key: bytes) -> Arm:
    """`control` when the customer's draw for the period is below `fraction`, else
    `contact`. Deterministic: the same customer, period, fraction and key, the same arm."""
    if not 0.0 <= fraction <= 0.5:
        raise ValueError(f"control fraction {fraction} is not in [0, 0.5]")
    return "control" if draw(customer_ref, period, key) < fraction else "contact"


@dataclass(frozen=True)
class ControlPlan:
    """What the write paths need to draw arms: the share held out, the draw's key, the
    period length and the targeting rule recorded on every receipt."""

    fraction: float
    key: bytes
    period_length: str = "month"
    targeting: str = "risk"

    @classmethod
    def from_settings(cls, settings: ControlSettings) -> ControlPlan:
        return cls(fraction=settings.control_fraction, key=arm_key(settings.pseudonym_secret),
                   period_length=settings.campaign_period, targeting=settings.targeting)

    def period(self, when: datetime) -> str:
        return campaign_period(when, self.period_length)

    def period_start(self, when: datetime) -> datetime:
        """The first instant of `when`'s campaign period: a task created before it was
        opened in an earlier period."""
        return period_start(when, self.period_length)

    def arm(self, customer_ref: str, when: datetime) -> Arm:
        return assign_arm(customer_ref, self.period(when), self.fraction, self.key)


def carried_over(plan: ControlPlan | None, refs: Iterable[str],
                 open_since: Mapping[str, datetime], when: datetime) -> frozenset[str]:
    """The customers among `refs` whose open or claimed task (`open_since`: customer ->
    when it was created) was created before `when`'s campaign period: not drawn this time
    (`assign`). Empty without a plan (nothing is drawn then)."""
    if plan is None or not open_since:
        return frozenset()
    start = plan.period_start(when)
    return frozenset(r for r in refs if (at := open_since.get(r)) is not None
                     and as_utc(at) < start)


def assign(plan: ControlPlan | None, rows: Sequence[PredictionRow], tasks: Iterable[TaskRow],
           when: datetime, carried: frozenset[str] = frozenset()
           ) -> tuple[list[PredictionRow], list[TaskRow]]:
    """Draw the arm of every receipt that would open a task (route `human_contact`) and
    record the targeting rule on all of them: a `control` receipt is routed nowhere
    (`HELD_OUT`) and its task is dropped. A receipt of a customer in `carried` (an open
    or claimed task created in an earlier campaign period than `when`'s) is not drawn:
    no arm, its route and task kept. `plan` None (no settings at hand) records the rule
    `risk` and draws nothing. Returns the receipts and the tasks still to open."""
    if plan is None:
        return list(rows), list(tasks)
    period = plan.period(when)
    out: list[PredictionRow] = []
    held: set[str] = set()
    for row in rows:
        if (row.route_action == "human_contact" and not row.withdrawn
                and row.customer_ref not in carried):
            arm = assign_arm(row.customer_ref, period, plan.fraction, plan.key)
            if arm == "control":
                held.add(row.id)
                row = row._replace(route_action=HELD_OUT.action, route_reason=HELD_OUT.reason)
            out.append(row._replace(arm=arm, targeting=plan.targeting))
        else:
            out.append(row._replace(arm=None, targeting=plan.targeting)
                       if row.arm is not None or row.targeting != plan.targeting else row)
    return out, [t for t in tasks if t.prediction_id not in held]
