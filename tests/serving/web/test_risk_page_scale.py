"""The risk-list page stays fast at 100,000 customers: keyset paging, every filter."""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from serving.main import create_app
from serving.storage.tables import Customer, Prediction, RetentionTask
from tests.serving.web.test_pages import sign_in

N = 100_000
LIMIT_S = 1.0


@pytest.fixture
def big_client(base_settings, host, customers, tmp_path: Path):  # noqa: ANN001, ANN201
    settings = base_settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/big.db"})
    app = create_app(settings, host=host)
    with TestClient(app) as client:
        admin = {"Authorization": f"Bearer {base_settings.admin_token.get_secret_value()}"}
        tok = client.post("/v1/admin/users", json={"name": "a", "role": "agent"}, headers=admin)
        token = tok.json()["token"]
        r = client.post("/v1/predictions", json=customers[0],
                        headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201
        db = app.state.db
        with db.session() as s:
            template = s.scalars(select(Prediction)).one()
            now = datetime.now(UTC)
            rnd = random.Random(5)
            cust, preds, tasks = [], [], []
            for i in range(N):
                score = rnd.random()
                band = "high" if score >= 0.6 else "medium" if score >= 0.3 else "low"
                ref, pid = f"cu_big{i:06d}", f"p-{i:06d}"
                cust.append({"customer_ref": ref, "external_id": f"B{i:06d}", "restricted": False,
                             "objected": False, "created_at": now, "latest_prediction_id": pid,
                             "latest_score": score, "latest_band": band, "latest_at": now})
                preds.append({"id": pid, "customer_ref": ref, "model_name": template.model_name,
                              "model_version": template.model_version, "score": score,
                              "margin": template.margin, "base_value": template.base_value,
                              "risk_band": band, "features": template.features,
                              "shap": template.shap, "route_action": "none", "route_reason": "",
                              "source": "batch", "actor": "test", "withdrawn": False,
                              "created_at": now})
                if band == "high" and i % 3 == 0:
                    tasks.append({"id": f"t-{i:06d}", "customer_ref": ref, "prediction_id": pid,
                                  "status": "open" if i % 2 else "claimed", "score": score,
                                  "reason": "", "created_at": now, "updated_at": now,
                                  "version": 1})
            s.execute(Customer.__table__.insert(), cust)
            s.execute(Prediction.__table__.insert(), preds)
            s.execute(RetentionTask.__table__.insert(), tasks)
            s.commit()
        sign_in(client, token)
        yield client


def timed_get(client: TestClient, url: str) -> tuple[float, str]:
    started = time.perf_counter()
    r = client.get(url)
    elapsed = time.perf_counter() - started
    assert r.status_code == 200, r.text[:500]
    return elapsed, r.text


@pytest.mark.slow
def test_risk_page_is_fast_at_100k(big_client) -> None:  # noqa: ANN001
    for query in ("", "band=medium", "task=open", "task=claimed", "task=none",
                  "band=high&task=open"):
        url = "/staff/risk" + (f"?{query}" if query else "")
        elapsed, html = timed_get(big_client, url)
        assert elapsed < LIMIT_S, (query, elapsed)
        # walk 10 pages deep by cursor: every page as fast as the first
        for _ in range(10):
            m = re.search(r'href="(/staff/risk\?[^"]*cursor=[^"]+)" rel="next"', html)
            if not m:
                break
            elapsed, html = timed_get(big_client, m.group(1).replace("&amp;", "&"))
            assert elapsed < LIMIT_S, (query, elapsed)
