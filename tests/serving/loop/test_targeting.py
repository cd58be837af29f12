"""Uplift targeting in the batch (issue 17): with CHURN_TARGETING=uplift and an uplift model,
a task is opened only when uplift x customer value - contact cost is positive; customers
contact is estimated to push away are not queued; every drawn receipt records the rule and
its uplift. Without a loadable uplift model the rule stays risk, and receipts say so."""

from __future__ import annotations

import json
from pathlib import Path

from serving.batch import score_file
from serving.loop.targeting import NOT_WORTH
from serving.storage import monitoring as reads
from tests.serving.conftest import SYNTHETIC_SCHEMA
from training import synthetic


def _score(settings, db, host, tmp_path: Path, **update):  # noqa: ANN001, ANN202
    path = tmp_path / "base.parquet"
    synthetic.generate(2000, seed=44).to_parquet(path, index=False)
    s = settings.model_copy(update={"control_fraction": 0.2, **update})
    report = score_file(s, path, SYNTHETIC_SCHEMA, db=db, host=host)
    with db.session() as session:
        return report, reads.scored(session, with_features=True), reads.task_outcomes(session)


def test_only_contact_worth_its_cost_is_queued(settings, db, host, uplift_version,  # noqa: ANN001
                                               tmp_path: Path) -> None:
    report, rows, tasks = _score(settings, db, host, tmp_path, targeting="uplift",
                                 uplift_model_uri=f"models:/churn-uplift/{uplift_version}",
                                 customer_value=300.0, contact_cost=10.0)
    drawn = [r for r in rows if r["arm"] in ("contact", "control")]
    assert drawn and all(r["targeting"] == "uplift" and r["uplift"] is not None for r in drawn)
    queued = {t["customer_ref"] for t in tasks}
    contact = [r for r in drawn if r["arm"] == "contact"]
    worth = [r for r in contact if r["uplift"] * 300.0 - 10.0 > 0]
    not_worth = [r for r in contact if r["uplift"] * 300.0 - 10.0 <= 0]
    assert worth and not_worth
    assert {r["customer_ref"] for r in worth} == queued
    assert all(r["route_action"] == NOT_WORTH.action for r in not_worth)
    assert report.human_contact == len(worth)
    # those contact pushes away (long contracts, negative uplift) are left out
    pushed = [r for r in contact if json.loads(r["features"])["Contract"] != "Month-to-month"]
    assert pushed and sum(r["customer_ref"] in queued for r in pushed) < 0.2 * len(pushed)
    # the control group is never queued, whatever its uplift
    assert not queued & {r["customer_ref"] for r in drawn if r["arm"] == "control"}


def test_without_an_uplift_model_the_rule_stays_risk(settings, db, host,  # noqa: ANN001
                                                     tmp_path: Path) -> None:
    report, rows, tasks = _score(settings, db, host, tmp_path, targeting="uplift",
                                 uplift_model_uri="models:/no-such-uplift-model@champion")
    assert {r["targeting"] for r in rows} == {"risk"}
    assert all(r["uplift"] is None for r in rows)
    contact = [r for r in rows if r["arm"] == "contact"]
    assert len(tasks) == len(contact) == report.human_contact


def test_the_training_export_carries_what_the_queue_was_ranked_by(
        settings, db, host, uplift_version, tmp_path: Path) -> None:  # noqa: ANN001
    """The data scientist's export (issue 17): each drawn row carries its uplift estimate,
    the customer's value and the expected retained value, as the receipt recorded them;
    recorded columns, never features."""
    from datetime import UTC, datetime, timedelta

    import pandas as pd
    import sqlalchemy as sa

    from serving.loop.export import RECENT_FILE, TRAIN_FILE, export_training
    from serving.storage.tables import Prediction

    _score(settings, db, host, tmp_path, targeting="uplift",
           uplift_model_uri=f"models:/churn-uplift/{uplift_version}",
           customer_value=250.0, contact_cost=10.0)
    with db.session() as s:  # scored four months ago: every label is known
        s.execute(sa.update(Prediction).values(
            created_at=datetime.now(UTC) - timedelta(days=120)))
        s.commit()
        stored = {ref: (u, v, e) for ref, u, v, e in s.execute(sa.select(
            Prediction.customer_ref, Prediction.uplift, Prediction.customer_value,
            Prediction.expected_value))}
        export_training(s, tmp_path / "export", settings.label_horizon_days)
    table = pd.concat([pd.read_parquet(tmp_path / "export" / f)
                       for f in (TRAIN_FILE, RECENT_FILE)])
    drawn = table[table["arm"] != "none"]
    assert len(drawn) > 100 and drawn["uplift"].notna().all()
    assert (drawn["customer_value"] == 250.0).all()
    assert (drawn["expected_value"] - (drawn["uplift"] * 250.0 - 10.0)).abs().max() < 1e-9
    for row in drawn.itertuples():
        assert (row.uplift, row.customer_value, row.expected_value) == stored[row.customer_ref]
