"""A bad model behind @champion is refused at reload; the service keeps serving the old one."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from models import ChurnModel
from training.registry import CHAMPION

from .conftest import ADMIN_TOKEN, bearer

pytestmark = pytest.mark.slow


@pytest.fixture
def database_url(tmp_path: Path) -> str:  # one database is enough here
    return f"sqlite:///{tmp_path}/churn.db"


def _champion(registry) -> tuple[MlflowClient, ChurnModel, str]:
    mlflow.set_tracking_uri(registry.tracking_uri)
    client = MlflowClient()
    version = client.get_model_version_by_alias("churn", CHAMPION)
    model = mlflow.pyfunc.load_model(registry.model_uri).unwrap_python_model()
    return client, model, str(version.version)


def _register(model: ChurnModel, signature: ModelSignature, tmp: Path) -> str:
    # the training experiment keeps artifacts in the test's temporary folder
    experiment = MlflowClient().get_experiment_by_name("churn")
    with mlflow.start_run(experiment_id=experiment.experiment_id):
        info = mlflow.pyfunc.log_model(name="model", python_model=model,
                                       artifacts=model.save_artifacts(tmp),
                                       signature=signature, registered_model_name="churn",
                                       pip_requirements=["mlflow"])
    return str(info.registered_model_version)


def _assert_still_serving(server, version: str, record: dict) -> None:
    model = httpx.get(server.url + "/v1/model", headers=bearer(ADMIN_TOKEN)).json()
    assert str(model["version"]) == version
    r = httpx.post(server.url + "/v1/predictions", headers=bearer(ADMIN_TOKEN),
                   json={"customer_id": "still-serving", "features": record})
    assert r.status_code == 201, r.text
    assert r.json()["model"]["version"] == version


def test_other_signature_and_missing_artifact_are_refused(registry, make_server, tmp_path):
    server = make_server()
    client, model, good = _champion(registry)
    record = {f.name: (f.categories[0] if f.categories else f.min) for f in model.spec.features}

    other = ModelSignature(inputs=Schema([ColSpec("double", "something_else")]),
                           outputs=Schema([ColSpec("double", "score")]))
    bad = _register(model, other, tmp_path / "other")
    client.set_registered_model_alias("churn", CHAMPION, bad)
    r = httpx.post(server.url + "/v1/admin/reload-model", headers=bearer(ADMIN_TOKEN))
    assert r.status_code == 409, r.text
    assert "signature" in r.json()["detail"] and f"churn/{bad}" in r.json()["detail"]
    _assert_still_serving(server, good, record)

    from models.signature import signature_for

    broken = _register(model, signature_for(model.spec), tmp_path / "broken")
    source = client.get_model_version_download_uri("churn", broken)
    booster = next(Path(urlparse(source).path).rglob("booster.txt"))
    booster.unlink()
    client.set_registered_model_alias("churn", CHAMPION, broken)
    r = httpx.post(server.url + "/v1/admin/reload-model", headers=bearer(ADMIN_TOKEN))
    assert r.status_code == 409, r.text
    assert f"churn/{broken}" in r.json()["detail"]
    assert "cannot be loaded" in r.json()["detail"]
    assert "restore them" in r.json()["detail"] and "make train PROMOTE=1" in r.json()["detail"]
    _assert_still_serving(server, good, record)

    client.set_registered_model_alias("churn", CHAMPION, good)
    r = httpx.post(server.url + "/v1/admin/reload-model", headers=bearer(ADMIN_TOKEN))
    assert r.status_code == 200 and r.json()["changed"] is False
    shutil.rmtree(tmp_path / "other", ignore_errors=True)
