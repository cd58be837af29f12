"""Schemathesis against the running app's /openapi.json, with valid staff and customer
tokens: every default check, no 5xx, every response matching its documented schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from training.synthetic import generate

from .conftest import ADMIN_TOKEN, bearer

pytestmark = pytest.mark.slow

# Business rules a JSON schema cannot state (an id that is not yours is 404, a decided
# dispute cannot be decided again: 409, an expired cursor or a reused idempotency key with
# another body: 422) are still answers to well-formed requests.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]
"""
EXAMPLES = int(os.environ.get("CHURN_FUZZ_EXAMPLES", "40"))
CUSTOMER_PATHS = r"^/v1/(me|disputes$|objections)"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/churn.db"


def _seed(server) -> str:
    """Score some customers and issue one access link; returns the customer token."""
    model = httpx.get(server.url + "/v1/model", headers=bearer(ADMIN_TOKEN)).json()
    names = [f["name"] for f in model["features"]]
    frame = generate(40, seed=8)
    for row in frame.to_dict(orient="records"):
        features = {n: (None if row[n] != row[n] else row[n]) for n in names}
        features = {k: (v.item() if hasattr(v, "item") else v) for k, v in features.items()}
        r = httpx.post(server.url + "/v1/predictions", headers=bearer(ADMIN_TOKEN),
                       json={"customer_id": row["customer_id"], "features": features})
        assert r.status_code == 201, r.text
    link = httpx.post(server.url + f"/v1/customers/{frame['customer_id'][0]}/access-link",
                      headers=bearer(ADMIN_TOKEN))
    assert link.status_code == 201, link.text
    return link.json()["token"]


def _schemathesis(server, token: str, tmp_path: Path, name: str, *filters: str) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    cmd = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config),
           "run", server.url + "/openapi.json", "-H", f"Authorization: Bearer {token}",
           "--max-examples", str(EXAMPLES), "--phases", "examples,coverage,fuzzing",
           "--seed", "1", "--no-color", *filters]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    (tmp_path / f"schemathesis-{name}.txt").write_text(out.stdout + out.stderr)
    tail = "\n".join(out.stdout.splitlines()[-60:])
    assert out.returncode == 0, f"schemathesis found problems ({name}):\n{tail}"


def test_fuzz_staff_and_customer_routes(make_server, tmp_path):
    server = make_server()
    customer_token = _seed(server)
    _schemathesis(server, ADMIN_TOKEN, tmp_path, "staff", "--exclude-path-regex",
                  CUSTOMER_PATHS)
    _schemathesis(server, customer_token, tmp_path, "customer", "--include-path-regex",
                  CUSTOMER_PATHS)
