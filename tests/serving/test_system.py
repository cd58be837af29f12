"""Health, readiness, metrics, the model description and its hot reload, OpenAPI."""

import uuid

import mlflow
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from serving.errors import ModelRejected
from serving.main import create_app
from serving.modelhost import ModelHost


def test_health_and_readiness(client, trained):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz").json()
    assert r["ready"] and r["model_loaded"] and r["database"]
    assert r["model"]["version"] == trained.model_version
    assert r["model"]["contract_version"]  # the contract being served


def test_not_ready_without_a_model(settings):
    bad = settings.model_copy(update={"model_uri": "models:/missing@champion",
                                      "model_required": False})
    with TestClient(create_app(bad)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and not r.json()["model_loaded"]
        assert "missing" in r.json()["detail"]
        h = {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}
        assert c.get("/v1/model", headers=h).status_code == 503


def test_refuses_to_start_without_a_model(settings):
    bad = settings.model_copy(update={"model_uri": "models:/missing@champion"})
    with pytest.raises(RuntimeError, match="cannot start"), TestClient(create_app(bad)):
        pass


def test_metrics(api, customers):
    api.score(customers[0])
    text = api.client.get("/metrics").text
    assert "churn_predictions_total" in text and "churn_http_request_seconds" in text
    assert 'route="/v1/predictions"' in text and "churn_model_info" in text


def test_model_description(api, host, trained):
    m = api.get("/v1/model", role="reviewer").json()
    assert (m["name"], m["version"], m["alias"]) == \
        (trained.model_name, trained.model_version, "champion")
    spec = host.current().spec
    assert [f["name"] for f in m["features"]] == spec.feature_names
    for f, s in zip(m["features"], spec.features, strict=True):
        assert f["type"] == s.kind and f["label"]["en"] and f["label"]["fr"]
        if s.kind == "numeric":
            assert f["min"] is not None and f["max"] is not None
        else:
            assert f["categories"] == s.categories
    t = m["thresholds"]
    assert t["high"] == spec.decision.high_threshold and t["medium"] <= t["high"]


def test_reload_keeps_serving_and_refuses_a_bad_model(settings, host, trained, tokens,
                                                     tmp_path):
    # a model that is not a ChurnModel, registered under another name as @champion
    class NotAChurnModel(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    client = mlflow.MlflowClient(tracking_uri=trained.tracking_uri,
                                 registry_uri=trained.tracking_uri)
    mlflow.set_tracking_uri(trained.tracking_uri)
    bad = f"bad-churn-{uuid.uuid4().hex[:8]}"
    exp = client.create_experiment(bad,
                                   artifact_location=(tmp_path / "bad").as_uri())
    with mlflow.start_run(experiment_id=exp):
        info = mlflow.pyfunc.log_model(name="model", python_model=NotAChurnModel())
    client.create_registered_model(bad)
    mv = client.create_model_version(bad, info.model_uri)
    client.set_registered_model_alias(bad, "champion", mv.version)

    own = ModelHost.with_model(settings, host.current())
    with TestClient(create_app(settings, host=own)) as c:
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        r = c.post("/v1/admin/reload-model", headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["current"]["version"] == trained.model_version
        assert r.json()["changed"] is False

        own.settings = settings.model_copy(update={"model_uri": f"models:/{bad}@champion"})
        r = c.post("/v1/admin/reload-model", headers=admin)
        assert r.status_code == 409
        assert "not a models.ChurnModel" in r.json()["detail"]
        # the old model keeps serving
        assert c.get("/readyz").json()["model"]["version"] == trained.model_version
        m = c.get("/v1/model", headers=admin).json()
        assert (m["name"], m["version"]) == (trained.model_name, trained.model_version)
        with pytest.raises(ModelRejected):
            own.reload(f"models:/{bad}@champion")
        assert own.current().name == trained.model_name


def test_openapi_documents_every_json_route(app):
    doc = app.openapi()
    paths = doc["paths"]
    routes = [rc.original_route for rc in iter_route_contexts(app.routes)
              if isinstance(rc.original_route, APIRoute)]
    assert len(routes) >= 14
    for route in routes:
        if not route.include_in_schema:
            continue
        for method in route.methods:
            op = paths[route.path][method.lower()]
            ok = [c for c in op["responses"] if c.startswith("2")]
            assert ok, (method, route.path)
            content = op["responses"][ok[0]].get("content", {})
            # a JSON answer has its schema; a CSV download (contest analytics) its text type
            schema = content.get("application/json", {}).get("schema") or next(
                (c.get("schema") for c in content.values() if c.get("schema")), None)
            assert schema, f"{method} {route.path} has no response schema"
            if route.body_field is not None:
                req = op["requestBody"]["content"]["application/json"]["schema"]
                assert req, f"{method} {route.path} has no request schema"
            # POST /v1/sessions: the access link in its body is the credential (issue 15)
            if route.path not in ("/healthz", "/readyz", "/v1/sessions"):
                assert op.get("security"), f"{method} {route.path} shows no auth"
    schemas = doc["components"]["schemas"]
    for name in ("ScoreRequest", "PredictionPublic", "RetentionTaskPublic", "RiskListPage",
                 "CompleteRequest", "AccessLinkPublic", "ModelPublic", "ContributionPublic"):
        assert name in schemas
    body = paths["/v1/predictions"]["post"]["requestBody"]["content"]["application/json"]
    assert "anyOf" in body["schema"] or "oneOf" in body["schema"]  # one or a list


def test_access_log_names_each_request_but_never_its_query(api, caplog):
    """Access links carry their token in the query (`/me?token=`): it must not be logged."""
    import logging

    secret = "tok-" + uuid.uuid4().hex
    with caplog.at_level(logging.INFO, logger="churn.access"):
        api.client.get("/me", params={"token": secret}, follow_redirects=False)
        api.get("/v1/risk-list", limit=5)
    lines = [r.getMessage() for r in caplog.records if r.name == "churn.access"]
    assert any('"GET /me" ' in line for line in lines), lines
    assert any('"GET /v1/risk-list" 200' in line for line in lines), lines
    assert secret not in caplog.text
    assert all("?" not in line for line in lines)


def test_a_model_logged_with_other_library_versions_is_named_at_load(tmp_path, host,
                                                                     caplog):
    """The served model's requirements are compared with this process's packages (in
    place of MLflow's scan of every installed package): each pin that differs is named,
    with the version this process has, and a model whose pins match loads without a
    word."""
    import logging
    from importlib.metadata import version

    from serving.modelhost import requirement_mismatches

    (tmp_path / "requirements.txt").write_text(
        f"mlflow=={version('mlflow')}\nlightgbm==0.0.1\n# a comment\nno-such-package==1.0\n")
    assert requirement_mismatches(str(tmp_path)) == [
        f"lightgbm==0.0.1; this process has lightgbm {version('lightgbm')}",
        "no-such-package==1.0; this process has no-such-package none"]
    assert requirement_mismatches(tmp_path.as_uri()) == requirement_mismatches(str(tmp_path))
    assert requirement_mismatches(str(tmp_path / "missing")) == []

    # the served model itself: logged by this environment, nothing to say
    from mlflow import MlflowClient

    from serving.modelhost import load_served_model

    served = host.current()
    settings = host.settings
    client = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    source = client.get_model_version_download_uri(served.name, served.version)
    assert requirement_mismatches(source) == []
    with caplog.at_level(logging.WARNING, logger="serving.modelhost"):
        load_served_model(settings)
    assert not [r for r in caplog.records if "logged with" in r.getMessage()]


def test_serve_after_waits_for_the_training_process_to_end():
    """`serve --after PID` (the first `make run`) waits for the training to end before
    loading the model, even while that process is not yet reaped by its parent."""
    import subprocess
    import threading
    import time

    from serving.cli import _wait_for

    trainer = subprocess.Popen(["sleep", "0.6"])  # ours, and left unreaped while we wait
    started, done = time.monotonic(), threading.Event()
    threading.Thread(target=lambda: (_wait_for(trainer.pid), done.set()), daemon=True).start()
    assert not done.wait(0.3)  # still training
    assert done.wait(10), "the wait did not see the process end"
    assert 0.5 <= time.monotonic() - started < 10
    trainer.wait()
