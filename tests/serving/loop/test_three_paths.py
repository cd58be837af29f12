"""Uplift targeting on every path (issue 17): online scoring (`POST /v1/predictions`, one
record and a list), the single-process batch and the Dask batch apply the same rule
(`serving.loop.targeting.target`) with the promoted uplift model, and give the same arm,
route, uplift, customer value and expected value for the same rows, each receipt
recording the rule; the tasks they open carry the same expected value."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient

from serving.batch import score_file
from serving.distributed import score_file_dask
from serving.main import create_app
from serving.storage import Database
from serving.storage.tables import Prediction, RetentionTask
from tests.serving.conftest import ADMIN_TOKEN, SYNTHETIC_SCHEMA, bearer, clean
from tests.serving.loop.conftest import uplift_settings
from training.synthetic import generate

pytestmark = pytest.mark.slow

ROWS = 500
# what a receipt says about targeting, compared across the paths
DECIDED = ("arm", "route_action", "route_reason", "targeting", "uplift", "customer_value",
           "expected_value")


def value_schema(tmp_path: Path, column: str = "ContractValue") -> Path:
    """The synthetic data set's schema, naming a value column."""
    raw = yaml.safe_load(Path(SYNTHETIC_SCHEMA).read_text(encoding="utf-8"))
    raw["value_column"] = column
    path = tmp_path / "with-value.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def base_with_values(rows: int, seed: int):  # noqa: ANN201
    """Synthetic customers, each with what keeping them is worth (not a feature)."""
    frame = generate(rows, seed=seed)
    # a year of charges, more for some: values from tens to a few thousands
    frame["ContractValue"] = (frame["MonthlyCharges"] * 12
                              * (1 + (frame.index.to_numpy() % 5))).round(2)
    return frame


def online_records(frame, host) -> list[dict[str, Any]]:  # noqa: ANN001
    """The file's customers as scoring requests, each with their value."""
    names = host.current().model.feature_names
    return [{"customer_id": str(r["customer_id"]),
             "features": {n: clean(r[n]) for n in names},
             "customer_value": float(r["ContractValue"])}
            for r in frame.to_dict(orient="records")]


@contextmanager
def online_agent(settings, host) -> Iterator[tuple[TestClient, dict[str, str]]]:  # noqa: ANN001
    """A running app on `settings` and an agent's headers."""
    with TestClient(create_app(settings, host=host)) as client:
        made = client.post("/v1/admin/users", json={"name": "three paths", "role": "agent"},
                           headers=bearer(ADMIN_TOKEN))
        yield client, bearer(made.json()["token"])


def decided(url: str) -> tuple[dict[str, tuple], dict[str, Any]]:
    """Each customer's targeting as stored, and their open task's expected value."""
    db = Database(url)
    with db.session() as s:
        rows = {r.customer_ref: tuple(getattr(r, c) for c in DECIDED)
                for r in s.scalars(sa.select(Prediction))}
        tasks = dict(s.execute(sa.select(RetentionTask.customer_ref,
                                         RetentionTask.expected_value)).all())
    db.dispose()
    return rows, tasks


def _close(a: tuple, b: tuple) -> bool:
    return all((x == y) or (isinstance(x, float) and isinstance(y, float)
                            and math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12))
               for x, y in zip(a, b, strict=True))


def test_online_batch_and_dask_target_alike(base_settings, host, uplift_version, tmp_path):
    frame = base_with_values(ROWS, seed=31)
    path = tmp_path / "base.csv"
    frame.to_csv(path, index=False)
    schema = value_schema(tmp_path)
    common = {"control_fraction": 0.3, "customer_value": 300.0, "contact_cost": 10.0,
              "mailbox_dir": str(tmp_path / "mail")}
    urls = {p: f"sqlite:///{tmp_path}/{p}.db" for p in ("online", "batch", "dask")}

    # the single-process batch and the Dask batch, from the file and its value column
    batch = score_file(uplift_settings(base_settings, uplift_version, database_url=urls["batch"],
                                       **common), path, schema, host=host)
    dask = score_file_dask(uplift_settings(base_settings, uplift_version,
                                           database_url=urls["dask"], **common),
                           path, schema, workers=1)
    assert batch.targeting == dask.targeting == "uplift"
    assert f"churn-uplift/{uplift_version}" in (batch.uplift_model or "")

    # online: the same customers, their value in the request; one record alone, then lists
    records = online_records(frame, host)
    with online_agent(uplift_settings(base_settings, uplift_version,
                                      database_url=urls["online"], **common),
                      host) as (client, agent):
        one = client.post("/v1/predictions", json=records[0], headers=agent)
        assert one.status_code == 201, one.text
        for i in range(1, len(records), 200):
            r = client.post("/v1/predictions", json=records[i:i + 200], headers=agent)
            assert r.status_code == 201, r.text
        # the model card states the rule in force
        card = client.get("/v1/model", headers=agent).json()["targeting"]
        assert card["rule"] == "uplift" and card["contact_cost"] == 10.0
        assert f"churn-uplift/{uplift_version}" in card["uplift_model"]

    online, online_tasks = decided(urls["online"])
    single, single_tasks = decided(urls["batch"])
    distributed, dask_tasks = decided(urls["dask"])
    assert len(online) == len(single) == len(distributed) == ROWS
    differ = [ref for ref in single
              if not (_close(single[ref], online[ref]) and _close(single[ref], distributed[ref]))]
    assert differ == [], (single[differ[0]], online[differ[0]], distributed[differ[0]])
    assert single_tasks.keys() == online_tasks.keys() == dask_tasks.keys()
    for ref, value in single_tasks.items():
        assert math.isclose(value, online_tasks[ref]) and math.isclose(value, dask_tasks[ref])

    # and the rule did something: every kind of receipt is there
    arms = [v[0] for v in single.values()]
    assert "control" in arms and "contact" in arms
    contact = [v for v in single.values() if v[0] == "contact"]
    assert any(v[1] == "human_contact" for v in contact)  # worth a call
    assert any(v[1] == "none" for v in contact)  # not worth one: not queued
    # each drawn receipt records the rule, its uplift, the customer's own value and the
    # expected value worked out from them
    by_ref = dict(zip(frame["customer_id"].astype(str), frame["ContractValue"], strict=True))
    from models import pseudonymise

    refs = {pseudonymise(cid, base_settings.pseudonym_secret): v for cid, v in by_ref.items()}
    for ref, (arm, action, _reason, rule, uplift, value, ev) in single.items():
        if arm is None:
            assert uplift is None and ev is None
            continue
        assert rule == "uplift" and value == pytest.approx(refs[ref])
        assert ev == pytest.approx(uplift * value - 10.0)
        assert (action == "human_contact") == (arm == "contact" and ev > 0)
        assert (ref in single_tasks) == (action == "human_contact")


# -- who is drawn: a customer carrying an open task from an earlier period is not -----------
CARRY_ROWS = 400


def _seed(settings, host, path: Path, current: Path, earlier: datetime) -> None:  # noqa: ANN001
    """Last month's batch over everyone (its `contact` customers' tasks still open), then
    this month's over those with no open task (`current`): tasks of both periods."""
    score_file(settings, path, SYNTHETIC_SCHEMA, host=host, as_of=earlier)
    score_file(settings, current, SYNTHETIC_SCHEMA, host=host)


def _state(url: str) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """Each customer's newest receipt (what it decided) and their open task (whether it
    is on that receipt, when it opened, its expected value)."""
    db = Database(url)
    with db.session() as s:
        newest: dict[str, Prediction] = {}
        for p in s.scalars(sa.select(Prediction).order_by(Prediction.created_at,
                                                          Prediction.id)):
            newest[p.customer_ref] = p
        tasks = {t.customer_ref: (t.prediction_id == newest[t.customer_ref].id,
                                  t.created_at.strftime("%Y-%m"), t.expected_value, t.id)
                 for t in s.scalars(sa.select(RetentionTask).where(
                     RetentionTask.status.in_(("open", "claimed"))))}
    db.dispose()
    return {ref: tuple(getattr(p, c) for c in DECIDED) for ref, p in newest.items()}, tasks


def test_the_three_paths_leave_a_customer_carrying_last_periods_task_out_of_the_draw(
        base_settings, host, uplift_version, tmp_path):
    """The defect: a customer drawn `contact` last period, their task still open, drawn
    `control` this period, kept the task, so an agent called a held-out customer. Online
    scoring, the batch and Dask now agree: such a customer is in neither arm (route and
    task kept, the task on the newer receipt, not valued under uplift targeting), while a
    customer whose task opened this period is drawn as before; no control receipt has an
    open task."""
    from models import pseudonymise
    from serving.loop.control import ControlPlan

    frame = base_with_values(CARRY_ROWS, seed=47)
    path = tmp_path / "base.csv"
    frame.to_csv(path, index=False)
    schema = value_schema(tmp_path)
    now = datetime.now(UTC)
    earlier = now - timedelta(days=40)  # always an earlier month
    common = {"control_fraction": 0.3, "customer_value": 300.0, "contact_cost": 10.0,
              "mailbox_dir": str(tmp_path / "mail")}
    urls = {p: f"sqlite:///{tmp_path}/{p}.db" for p in ("online", "batch", "dask")}
    secret = base_settings.pseudonym_secret
    ref_of = {str(c): pseudonymise(str(c), secret) for c in frame["customer_id"]}

    # who has no open task after last month's run (held out then, or low risk) is scored
    # again this month; the draws are the same in every database
    probe = base_settings.model_copy(update={"database_url": urls["online"], **common})
    score_file(probe, path, SYNTHETIC_SCHEMA, host=host, as_of=earlier)
    _, after_earlier = _state(urls["online"])
    current = tmp_path / "current.csv"
    frame[[ref_of[str(c)] not in after_earlier for c in frame["customer_id"]]].to_csv(
        current, index=False)
    score_file(probe, current, SYNTHETIC_SCHEMA, host=host)
    for p in ("batch", "dask"):
        _seed(base_settings.model_copy(update={"database_url": urls[p], **common}), host,
              path, current, earlier)
    seeded = {p: _state(urls[p])[1] for p in urls}
    carried = {r for r, t in seeded["online"].items() if t[1] == earlier.strftime("%Y-%m")}
    this_period = {r for r, t in seeded["online"].items() if t[1] == now.strftime("%Y-%m")}
    plan = ControlPlan.from_settings(probe)
    # the case in point: customers with last month's task whom this month's draw holds out
    assert {plan.arm(r, now) for r in carried} == {"contact", "control"}
    assert this_period

    # this month, everyone again, on each path under uplift targeting
    score_file(uplift_settings(base_settings, uplift_version, database_url=urls["batch"],
                               **common), path, schema, host=host)
    score_file_dask(uplift_settings(base_settings, uplift_version, database_url=urls["dask"],
                                    **common), path, schema, workers=1)
    records = online_records(frame, host)
    with online_agent(uplift_settings(base_settings, uplift_version,
                                      database_url=urls["online"], **common),
                      host) as (client, agent):
        for i in range(0, len(records), 150):
            r = client.post("/v1/predictions", json=records[i:i + 150], headers=agent)
            assert r.status_code == 201, r.text

    states = {p: _state(urls[p]) for p in urls}
    rows, tasks = states["batch"]
    for p in ("online", "dask"):  # the three paths agree, receipt by receipt, task by task
        other_rows, other_tasks = states[p]
        assert other_rows.keys() == rows.keys()
        differ = [r for r in rows if not _close(rows[r], other_rows[r])]
        assert differ == [], (p, rows[differ[0]], other_rows[differ[0]])
        assert {r: t[:3] for r, t in other_tasks.items()} == {r: t[:3] for r, t in tasks.items()}
    for p, (path_rows, path_tasks) in states.items():
        for ref in carried:
            arm, action, _reason, _rule, uplift, _value, ev = path_rows[ref]
            # in neither arm, not valued, routed to the agent who has the task
            assert (arm, action, uplift, ev) == (None, "human_contact", None, None), p
            # the same task, still open, now on the newer receipt
            assert path_tasks[ref][0] and path_tasks[ref][3] == seeded[p][ref][3], p
            assert path_tasks[ref][1] == earlier.strftime("%Y-%m")
        for ref in this_period:  # drawn as when the task opened: the same arm
            assert path_rows[ref][0] == plan.arm(ref, now) == "contact", p
        # no customer drawn into the control group has an open task
        assert not {r for r, v in path_rows.items() if v[0] == "control"} & path_tasks.keys()
