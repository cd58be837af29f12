"""Targeting (issue 17): which receipts open a retention task, and what a call is worth.

One function decides for every path that makes receipts (online scoring, the
single-process batch, a Dask worker's chunk): `target`. It draws the control group
(`serving.loop.control.assign`) and then, with `CHURN_TARGETING=uplift` and a promoted
uplift model (`CHURN_UPLIFT_MODEL_URI`, default `models:/churn-uplift@champion`), applies
the value rule (`decide`, pure):

    expected retained value = uplift x customer value - contact cost

where uplift is the estimated churn reduction a contact brings (`models.uplift`), the
customer value is the customer's own (the dataset schema's `value_column`, or the scoring
request's `customer_value`) or else `CHURN_CUSTOMER_VALUE`, and the contact cost is
`CHURN_CONTACT_COST`. A customer whom contact is estimated to push away (negative uplift),
or to help too little to pay for the call, is not queued: the receipt is routed nowhere
with a reason saying so. The tasks that open carry their expected value, and the agents'
queue is sorted by it under uplift targeting (`sort=value`). Every receipt drawn into an
arm records the rule (`targeting="uplift"`), its uplift, the value used and the expected
value (control ones too, so that the model can be evaluated on the randomised group).

Who is drawn: a receipt that would open a task, unless its customer carries an open or
claimed task from an earlier campaign period (`control.assign`, `carried`): that receipt
is in neither arm, keeps its route (its customer's open task follows it) and the value
rule, which applies to drawn receipts only, leaves it alone.

Without a promoted uplift model the rule stays `risk` (logged, and recorded as `risk` on
the receipts: a receipt never claims a rule that was not applied).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from serving.loop import control
from serving.loop.control import ControlPlan
from serving.routing import Route
from serving.storage.receipts import PredictionRow, TaskRow

if TYPE_CHECKING:  # imported where a plan is loaded: it brings LightGBM and MLflow
    from models.uplift import UpliftModel

log = logging.getLogger(__name__)

NOT_WORTH = Route(
    "none",
    "Contact is estimated not to help this customer stay (expected retained value at or "
    "below zero): no retention contact is proposed.",
)


@dataclass(frozen=True)
class UpliftPlan:
    """The uplift model in force and the value rule's two amounts (the customer value is
    the default for customers whose own value is not known)."""

    model: UpliftModel
    uri: str
    customer_value: float
    contact_cost: float
    version: str | None = None

    def value(self, uplift: np.ndarray) -> np.ndarray:
        """Expected retained value of contacting each customer, at the default value."""
        return uplift * self.customer_value - self.contact_cost


def load_plan(settings) -> UpliftPlan | None:  # noqa: ANN001
    """The uplift plan when `CHURN_TARGETING=uplift` and the model loads, else None."""
    if settings.targeting != "uplift":
        return None
    import mlflow

    from models.uplift import UpliftModel

    try:
        mlflow.set_tracking_uri(settings.tracking_uri)
        model = mlflow.pyfunc.load_model(settings.uplift_model_uri).unwrap_python_model()
    except Exception as exc:  # noqa: BLE001 - any failure to load means: no uplift model
        log.warning("CHURN_TARGETING=uplift but no uplift model could be loaded from %s "
                    "(%s): the queue stays ranked by risk. Train and promote one with "
                    "`make train-uplift`.", settings.uplift_model_uri,
                    str(exc).splitlines()[0][:200])
        return None
    if not isinstance(model, UpliftModel):
        log.warning("%s is not an uplift model: the queue stays ranked by risk",
                    settings.uplift_model_uri)
        return None
    return UpliftPlan(model=model, uri=settings.uplift_model_uri,
                      customer_value=settings.customer_value,
                      contact_cost=settings.contact_cost,
                      version=_version_of(settings.uplift_model_uri, settings.tracking_uri))


def _version_of(uri: str, tracking_uri: str) -> str | None:
    """The registry version a `models:/name@alias` or `models:/name/3` URI names now."""
    try:
        from mlflow import MlflowClient

        rest = uri[len("models:/"):].strip("/")
        client = MlflowClient(tracking_uri=tracking_uri)
        if "@" in rest:
            name, alias = rest.split("@", 1)
            return str(client.get_model_version_by_alias(name, alias).version)
        return rest.rsplit("/", 1)[1]
    except Exception:  # noqa: BLE001 - the version is only shown, never decides
        return None


def estimate(plan: UpliftPlan, ids: Sequence[str], features: Sequence[str]
             ) -> dict[str, float] | None:
    """The estimated uplift of each receipt (by id), from the values the churn model read
    (`features`, the receipts' JSON). None when the uplift model reads a feature the
    receipts lack: the rule then stays risk. Also None for a plan without its model (the
    writer process's copy, `serving.scoring.service.job_wire`: online scoring estimated
    every receipt it could before the write)."""
    if not ids:
        return {}
    if plan.model is None:
        return None
    records = [json.loads(f) for f in features]
    missing = [f for f in plan.model.spec.feature_names if f not in records[0]]
    if missing:
        log.warning("the uplift model reads %s, which the churn model's receipts lack: "
                    "the queue stays ranked by risk", missing)
        return None
    return dict(zip(ids, plan.model.uplift_records(records).tolist(), strict=True))


def would_open(row: PredictionRow) -> bool:
    """A receipt that opens a task unless the draw or the value rule says otherwise."""
    return row.route_action == "human_contact" and not row.withdrawn


def decide(rows: Sequence[PredictionRow], tasks: Sequence[TaskRow],
           uplift: Mapping[str, float] | None, values: Mapping[str, float],
           default_value: float, contact_cost: float
           ) -> tuple[list[PredictionRow], list[TaskRow]]:
    """The value rule, pure: on each receipt drawn into an arm, record its uplift, the
    customer's value (`values` by receipt id, else `default_value`) and the expected
    retained value of a call (uplift x value - cost); a contact-arm receipt whose value is
    at or below zero is routed nowhere (`NOT_WORTH`) and its task dropped; the tasks left
    carry their expected value.

    `uplift` None (no uplift model, or it cannot read these receipts): nothing is
    estimated, and any receipt marked `uplift` by the settings is recorded as `risk`, the
    rule actually applied."""
    rows = list(rows)
    if uplift is None:
        return ([r._replace(targeting="risk") if r.targeting == "uplift" else r for r in rows],
                list(tasks))
    dropped: set[str] = set()
    worth: dict[str, float] = {}
    for i, row in enumerate(rows):
        if row.arm not in ("contact", "control"):
            continue
        u = float(uplift[row.id])
        v = float(values.get(row.id, default_value))
        ev = u * v - contact_cost
        row = row._replace(targeting="uplift", uplift=u, customer_value=v, expected_value=ev)
        if row.arm == "contact" and row.route_action == "human_contact":
            if ev <= 0:
                row = row._replace(route_action=NOT_WORTH.action,
                                   route_reason=NOT_WORTH.reason)
                dropped.add(row.id)
            else:
                worth[row.id] = ev
        rows[i] = row
    return rows, [t._replace(expected_value=worth.get(t.prediction_id))
                  for t in tasks if t.prediction_id not in dropped]


def target(plan: ControlPlan | None, uplift: UpliftPlan | None,
           rows: Sequence[PredictionRow], tasks: Sequence[TaskRow], when: datetime,
           values: Mapping[str, float] | None = None,
           estimates: Mapping[str, float] | None = None,
           carried: frozenset[str] = frozenset()
           ) -> tuple[list[PredictionRow], list[TaskRow]]:
    """Who gets a retention task, for every path that makes receipts: the control
    group's draw, then (under uplift targeting) the value rule. `values`: the customers'
    own values by receipt id; `estimates`: uplifts already estimated (online scoring does
    it before its write), else estimated here for the drawn receipts; `carried`: the
    customers with an open or claimed task from an earlier campaign period, who are not
    drawn (`control.assign`) and so not subject to the value rule either. Returns the
    receipts and the tasks still to open."""
    rows, tasks = control.assign(plan, rows, tasks, when, carried)
    if plan is None or plan.targeting != "uplift":
        return rows, tasks
    if uplift is None:
        return decide(rows, tasks, None, {}, 0.0, 0.0)
    drawn = [r for r in rows if r.arm in ("contact", "control")]
    if estimates is None or any(r.id not in estimates for r in drawn):
        estimates = estimate(uplift, [r.id for r in drawn], [r.features for r in drawn])
    return decide(rows, tasks, estimates, values or {}, uplift.customer_value,
                  uplift.contact_cost)


def customer_values(raw: Sequence[object]) -> tuple[list[float | None], int]:
    """Customers' values as read from a file column or a request: a finite number at or
    above zero, else None (the default value applies); and how many were unusable
    (present but not such a number)."""
    out: list[float | None] = []
    bad = 0
    for v in raw:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out.append(None)
            continue
        try:
            x = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            x = math.nan
        if math.isfinite(x) and x >= 0:
            out.append(x)
        else:
            out.append(None)
            bad += 1
    return out, bad


def rule_statement(requested: str, plan: UpliftPlan | None, control_fraction: float) -> str:
    """The targeting rule in force, in words (the model card, `GET /v1/model`, says it)."""
    if requested == "uplift" and plan is not None:
        model = f"{plan.uri}" + (f" (v{plan.version})" if plan.version else "")
        rule = (f"Uplift targeting: a retention task opens only when the expected retained "
                f"value of a call (uplift x customer value - contact cost "
                f"{plan.contact_cost:g}; customer value from the customer's own data, else "
                f"{plan.customer_value:g}) is above zero, so customers whom contact is "
                f"estimated to push away are not queued; the queue is sorted by that value. "
                f"Uplift model: {model}.")
    elif requested == "uplift":
        rule = ("Risk targeting: CHURN_TARGETING=uplift, but no uplift model could be "
                "loaded, so the risk band decides who is queued (highest risk first) until "
                "one is trained and promoted (`make train-uplift`).")
    else:
        rule = ("Risk targeting: every customer in the high band (or within the review "
                "margin below it) is queued, highest risk first.")
    if control_fraction > 0:
        rule += (f" A control group of {control_fraction:.0%} of the customers who would "
                 "get a task, drawn at random each campaign period, gets none, so that the "
                 "team can measure whether contact helps.")
    else:
        rule += " There is no control group (CHURN_CONTROL_FRACTION=0)."
    return rule
