"""The served contract never changes silently: a champion with another feature set is
refused at reload (409 naming the differences) and the old model keeps serving; an admin's
explicit `accept_new_contract=true` swaps it and moves the contract version; every receipt
keeps the model version and the contract version it was made under."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient

from serving.main import create_app
from serving.modelhost import ModelHost
from serving.storage import Database
from serving.storage.tables import Prediction
from tests.serving.conftest import SYNTHETIC_SCHEMA, Trained, _train, bearer

pytestmark = pytest.mark.slow

DROPPED = ["SupportCalls", "PaymentMethod"]


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory, host: ModelHost) -> Trained:
    """A champion trained on the same data without two of the served model's features
    (its own registry, its own model name)."""
    assert set(DROPPED) <= set(host.current().spec.feature_names)
    tmp = tmp_path_factory.mktemp("other-contract")
    schema = yaml.safe_load(Path(SYNTHETIC_SCHEMA).read_text())
    schema["drop"] = list(schema.get("drop") or []) + DROPPED
    for name in DROPPED:  # a dropped column is never a lever (the schema refuses it)
        (schema["features"].get(name) or {}).pop("actionable", None)
    path = tmp / "schema.yaml"
    path.write_text(yaml.safe_dump(schema))
    from training.synthetic import generate

    data = tmp / "data.csv"
    generate(3000, seed=5).to_csv(data, index=False)
    return _train(tmp, data=data, schema=path, name="churn-other")


def _contracts(settings, ids: list[str]) -> dict[str, tuple[str, str, str | None]]:
    db = Database(settings.database_url)
    try:
        with db.session() as s:
            rows = s.execute(sa.select(Prediction.id, Prediction.model_name,
                                       Prediction.model_version, Prediction.contract_version)
                             .where(Prediction.id.in_(ids))).all()
    finally:
        db.dispose()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_another_contract_is_refused_unless_accepted(settings, host, trained, other, tokens,
                                                     customers):
    own = ModelHost.with_model(settings, host.current())
    old_spec = host.current().spec
    admin, agent = bearer(tokens["admin"]), bearer(tokens["agent"])
    with TestClient(create_app(settings, host=own)) as c:
        before = c.get("/v1/model", headers=admin).json()
        v0 = before["contract_version"]
        assert len(v0) == 12
        # the contract is all in the description: a number's accepted range and rule too
        for f, s in zip(before["features"], old_spec.features, strict=True):
            if s.kind == "numeric":
                assert [f["lower"], f["upper"]] == list(s.valid_range())
                assert f["integer"] is s.integer
            else:
                assert f["lower"] is f["upper"] is f["integer"] is None
        r = c.post("/v1/predictions", headers=agent, json=customers[0])
        assert r.status_code == 201, r.text
        first = r.json()
        assert first["model"]["contract_version"] == v0

        # the same champion again: same contract, nothing refused
        r = c.post("/v1/admin/reload-model", headers=admin)
        assert r.status_code == 200 and r.json()["contract_changed"] is False
        assert r.json()["contract_version"] == v0

        own.settings = settings.model_copy(update={"tracking_uri": other.tracking_uri,
                                                   "model_uri": other.model_uri})
        r = c.post("/v1/admin/reload-model", headers=admin)
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["error"] == "contract_changed"
        assert any(d.startswith("features removed: ") and all(n in d for n in DROPPED)
                   for d in body["differences"]), body
        assert "accept_new_contract=true" in body["detail"]
        for n in DROPPED:
            assert n in body["detail"]
        # the old model keeps serving, under the same contract
        m = c.get("/v1/model", headers=admin).json()
        assert (m["name"], m["version"], m["contract_version"]) == \
            (trained.model_name, trained.model_version, v0)
        r = c.post("/v1/predictions", headers=agent, json=customers[1])
        assert r.status_code == 201, r.text
        second = r.json()
        assert second["model"]["version"] == trained.model_version
        events = c.get("/v1/audit/events", headers=admin, params={"limit": 50}).json()
        assert [e["action"] for e in events["items"][:2]] == ["prediction.created",
                                                              "model.refused"]

        # an admin accepts the new contract explicitly
        r = c.post("/v1/admin/reload-model", headers=admin,
                   params={"accept_new_contract": "true"})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["changed"] is True and out["contract_changed"] is True
        assert out["previous_contract_version"] == v0
        v1 = out["contract_version"]
        assert v1 != v0
        m = c.get("/v1/model", headers=admin).json()
        assert (m["name"], m["contract_version"]) == ("churn-other", v1)
        assert not set(DROPPED) & {f["name"] for f in m["features"]}
        events = c.get("/v1/audit/events", headers=admin, params={"limit": 5}).json()
        reloaded = events["items"][0]
        assert reloaded["action"] == "model.reloaded"
        assert reloaded["object_ids"]["contract_version"] == v1
        assert reloaded["object_ids"]["previous_contract_version"] == v0
        assert reloaded["object_ids"]["contract_changed"] is True
        record = {k: v for k, v in customers[2]["features"].items() if k not in DROPPED}
        r = c.post("/v1/predictions", headers=agent,
                   json={"customer_id": customers[2]["customer_id"], "features": record})
        assert r.status_code == 201, r.text
        third = r.json()
        assert third["model"] == {"name": "churn-other", "version": other.model_version,
                                  "contract_version": v1}
        # the old features are now refused by name
        r = c.post("/v1/predictions", headers=agent, json=customers[3])
        assert r.status_code == 422 and set(DROPPED) <= set(r.json()["fields"]), r.text

        # a receipt reads back with the contract it was made under
        r = c.get(f"/v1/predictions/{first['prediction_id']}", headers=agent)
        assert r.json()["model"]["contract_version"] == v0

    stored = _contracts(settings, [first["prediction_id"], second["prediction_id"],
                                   third["prediction_id"]])
    assert stored == {
        first["prediction_id"]: (trained.model_name, trained.model_version, v0),
        second["prediction_id"]: (trained.model_name, trained.model_version, v0),
        third["prediction_id"]: ("churn-other", other.model_version, v1),
    }
    assert old_spec.feature_names == host.current().spec.feature_names  # shared host untouched


def test_a_restart_onto_another_contract_is_not_silent(settings, host, other, caplog):
    """Not refused (the champion is the operator's choice at start) but logged and
    audited."""
    import logging

    from serving.audit import service as audit_service
    from serving.storage.tables import AuditEvent

    with TestClient(create_app(settings, host=ModelHost.with_model(settings, host.current()))):
        pass
    moved = settings.model_copy(update={"tracking_uri": other.tracking_uri,
                                        "model_uri": other.model_uri})
    with caplog.at_level(logging.WARNING, logger="serving.main"), \
            TestClient(create_app(moved)) as c:
        new = c.app.state.host.current()
    lines = [r.getMessage() for r in caplog.records
             if "served contract changed" in r.getMessage()]
    assert lines and all(n in lines[0] for n in DROPPED), lines
    db = Database(settings.database_url)
    try:
        with db.session() as s:
            last = s.scalars(sa.select(AuditEvent).where(
                AuditEvent.action == audit_service.MODEL_LOADED)
                .order_by(AuditEvent.seq.desc()).limit(1)).one()
    finally:
        db.dispose()
    assert json.loads(last.objects) == {"contract_version": new.contract_version,
                                        "contract_changed": True}
