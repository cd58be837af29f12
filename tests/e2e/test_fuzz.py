"""Schemathesis against the running app's /openapi.json, with valid staff and customer
tokens: every default check, no 5xx, every response matching its documented schema.

Its hooks (tests/e2e/fuzz_hooks.py) also send what a schema does not generate: bodies
above the server's cap (413, documented) and lone surrogates and NUL bytes in bodies, path
parameters and query strings; none may get a 5xx."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from training.synthetic import generate

from .conftest import ADMIN_TOKEN, REPO, bearer
from .support import customer_token

pytestmark = pytest.mark.slow

# Business rules a JSON schema cannot state (an id that is not yours is 404, a decided
# dispute cannot be decided again: 409, an expired cursor or a reused idempotency key with
# another body: 422) are still answers to well-formed requests.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "413", "422", "429"]

# invalid data: schemathesis's own list, plus 413 (its over-long lists pass the body cap)
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422",
                     "428", "429"]
"""
BODY_CAP = 64 * 1024  # the server's CHURN_MAX_BODY_BYTES here: oversized bodies stay small
# Random cases per operation in the fuzzing phase; the deterministic examples and boundary
# cases of the other phases come on top (about 2,500 in all for the staff run). 20 keeps
# each database's run near a minute and a half on 2 cores (40: two and a half); a deeper
# run: CHURN_FUZZ_EXAMPLES=200.
EXAMPLES = int(os.environ.get("CHURN_FUZZ_EXAMPLES", "20"))
CUSTOMER_PATHS = r"^/v1/(me|disputes$|objections)"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite and PostgreSQL: text PostgreSQL cannot store (NUL, lone surrogates) must not
    be a 5xx there either."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/churn.db"
    from tests.postgres import reset_schema

    url = request.getfixturevalue("pg_database")
    reset_schema(url)
    return url


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
    # issue 15: the portal's link for the customer, exchanged once for a session
    return customer_token(server.url, str(frame["customer_id"][0]))


def _schemathesis(server, token: str, tmp_path: Path, name: str, *filters: str) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    cmd = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config),
           "run", server.url + "/openapi.json", "-H", f"Authorization: Bearer {token}",
           "--max-examples", str(EXAMPLES), "--phases", "examples,coverage,fuzzing",
           "--seed", "1", "--no-color", *filters]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_hooks",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "CHURN_FUZZ_BODY_CAP": str(BODY_CAP),
           "CHURN_FUZZ_TALLY": str(tmp_path / "tally.txt")}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                         env=env)
    (tmp_path / f"schemathesis-{name}.txt").write_text(out.stdout + out.stderr)
    tail = "\n".join(line[:300] for line in out.stdout.splitlines()[-60:])
    assert out.returncode == 0, f"schemathesis found problems ({name}):\n{tail}"


def _tally(tmp_path: Path) -> dict[str, Counter]:
    """Statuses by kind of input (plain, oversized, surrogate_or_nul), from the hooks."""
    out: dict[str, Counter] = {}
    for line in (tmp_path / "tally.txt").read_text(encoding="utf-8").splitlines():
        kind, status, _ = line.split(" ", 2)
        out.setdefault(kind, Counter())[int(status)] += 1
    return out


def test_fuzz_staff_and_customer_routes(make_server, tmp_path):
    server = make_server(CHURN_MAX_BODY_BYTES=str(BODY_CAP))
    session_token = _seed(server)
    _schemathesis(server, ADMIN_TOKEN, tmp_path, "staff", "--exclude-path-regex",
                  CUSTOMER_PATHS)
    _schemathesis(server, session_token, tmp_path, "customer", "--include-path-regex",
                  CUSTOMER_PATHS)
    tally = _tally(tmp_path)
    print(f"\n[fuzz] statuses by input: { {k: dict(v) for k, v in tally.items()} }")
    assert all(s < 500 for counts in tally.values() for s in counts), tally
    assert sum(tally.get("oversized", Counter()).values()) >= 5, tally
    assert set(tally["oversized"]) == {413}, tally  # refused before auth or validation
    assert sum(tally.get("surrogate_or_nul", Counter()).values()) >= 20, tally
