"""Uplift targeting on every path (issue 17): online scoring (`POST /v1/predictions`, one
record and a list), the single-process batch and the Dask batch apply the same rule
(`serving.loop.targeting.target`) with the promoted uplift model, and give the same arm,
route, uplift, customer value and expected value for the same rows, each receipt
recording the rule; the tasks they open carry the same expected value."""

from __future__ import annotations

import math
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
    names = host.current().model.feature_names
    records = [{"customer_id": str(r["customer_id"]),
                "features": {n: clean(r[n]) for n in names},
                "customer_value": float(r["ContractValue"])}
               for r in frame.to_dict(orient="records")]
    app = create_app(uplift_settings(base_settings, uplift_version,
                                     database_url=urls["online"], **common), host=host)
    with TestClient(app) as client:
        made = client.post("/v1/admin/users", json={"name": "three paths", "role": "agent"},
                           headers=bearer(ADMIN_TOKEN))
        agent = bearer(made.json()["token"])
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
