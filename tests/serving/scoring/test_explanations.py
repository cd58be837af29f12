"""The explanation adds up and agrees with shap.TreeExplainer: on the default model and
on a model trained from the real Telco data."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shap
from fastapi.testclient import TestClient

from serving.main import create_app
from serving.modelhost import ModelHost

REPO = Path(__file__).resolve().parents[3]
TELCO_CSV = REPO.parent / "shared" / "data" / "telco" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"


@pytest.fixture(scope="session")
def telco_host(tmp_path_factory, base_settings):
    """A model trained from the Telco CSV (read in place, never copied; trained once per
    run, tests/artefacts.py)."""
    from tests.artefacts import telco_champion_store

    _, trained = telco_champion_store(tmp_path_factory)
    settings = base_settings.model_copy(update={
        "tracking_uri": trained.tracking_uri, "model_uri": trained.model_uri})
    host = ModelHost(settings)
    host.load()
    return host


@pytest.fixture(scope="session")
def telco_frame():
    return pd.read_csv(TELCO_CSV)


def _check(model, frame):
    X = model.encoder.encode_frame(frame)
    ex = model.explain(X)
    # additivity: base value + sum of contributions == raw margin
    assert np.max(np.abs(ex.base_value + ex.shap.sum(axis=1) - ex.margin)) < 1e-6
    assert np.allclose(ex.margin, model.raw_margin(X), atol=1e-9)
    # agreement with shap's TreeExplainer on the same booster
    explainer = shap.TreeExplainer(model.booster)
    phi = np.asarray(explainer.shap_values(X))
    if phi.ndim == 3:  # some shap versions return one array per class
        phi = phi[-1]
    assert phi.shape == ex.shap.shape
    assert np.max(np.abs(phi - ex.shap)) < 1e-6
    expected = np.ravel(explainer.expected_value)[-1]
    assert abs(float(expected) - ex.base_value) < 1e-6
    return ex


def test_default_model_agrees_with_tree_explainer(host, customers):
    frame = pd.DataFrame([c["features"] for c in customers])
    _check(host.current().model, frame)


def test_telco_rows_add_up_and_agree_with_tree_explainer(telco_host, telco_frame):
    model = telco_host.current().model
    ex = _check(model, telco_frame)
    assert len(ex) == len(telco_frame) > 7000


def test_telco_explained_over_http(telco_host, telco_frame, tmp_path, base_settings):
    settings = base_settings.model_copy(update={
        "database_url": f"sqlite:///{tmp_path}/telco.db",
        "tracking_uri": telco_host.settings.tracking_uri,
        "model_uri": telco_host.settings.model_uri})
    model = telco_host.current().model
    names = model.feature_names
    rows = telco_frame.head(25).copy()
    rows["TotalCharges"] = pd.to_numeric(rows["TotalCharges"], errors="coerce")
    items = []
    for r in rows.to_dict(orient="records"):
        feats = {n: (None if isinstance(r[n], float) and np.isnan(r[n]) else
                     (r[n].item() if hasattr(r[n], "item") else r[n])) for n in names}
        # Telco stores SeniorCitizen etc. as numbers; the model's categories are text
        for f in model.spec.features:
            if f.kind != "numeric" and feats[f.name] is not None:
                feats[f.name] = str(feats[f.name])
        items.append({"customer_id": r["customerID"], "features": feats})
    with TestClient(create_app(settings, host=telco_host)) as c:
        r = c.post("/v1/predictions", json=items,
                   headers={"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"})
    assert r.status_code == 201, r.text
    ex = model.explain(model.encoder.encode_frame(rows))
    for n, p in enumerate(r.json()):
        shap_sum = sum(c["shap"] for c in p["contributions"])
        assert abs(p["base_value"] + shap_sum - p["margin"]) < 1e-6
        assert abs(p["margin"] - ex.margin[n]) < 1e-9
        by_feature = {c["feature"]: c["shap"] for c in p["contributions"]}
        assert np.allclose([by_feature[n_] for n_ in names], ex.shap[n], atol=1e-9)
        assert p["model"]["name"] == "churn-telco"
