"""A bounded load test on loopback: risk-list reads, predictions and disputes (each with
its prediction and access link) against one live server, for CHURN_LOAD_SECONDS
(default 20 s, the reduced CI run). The full run is a few minutes:

    CHURN_LOAD_SECONDS=240 make test PYTEST_ARGS="tests/e2e/test_load.py"

Pass: no error at all (no 5xx, no unexpected 4xx, no connection error), and the server's
memory flat: after a warm-up, the median RSS of the last quarter of the run is within
+15 % (or +30 MiB) of the first quarter's. p50/p95/p99 latency per kind of request are
printed and written to `load.json` under the test's tmp_path (and to
$CHURN_LOAD_REPORT when set). CHURN_LOAD_DATABASES=sqlite,postgresql runs it on both
(default: sqlite, the embedded default).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import psutil
import pytest

from tests.postgres import empty_database

from .conftest import bearer
from .support import ADMIN, dispute_body, model_info, portal, score, synthetic_records

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("CHURN_LOAD_SECONDS", "20"))
THREADS = 4
WARMUP = 0.2  # share of the run left out of the memory comparison
DATABASES = [d.strip() for d in os.environ.get("CHURN_LOAD_DATABASES", "sqlite").split(",")]
EXPECTED = {"risk_list": 200, "predict": 201, "access_link": 201, "session": 201, "dispute": 201}


@pytest.fixture(params=[pytest.param(d, marks=[pytest.mark.postgres] if d != "sqlite" else [])
                        for d in DATABASES])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The databases CHURN_LOAD_DATABASES names, each fresh and empty."""
    return empty_database(request, tmp_path)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def test_bounded_load(make_server, database_url, tmp_path):
    server = make_server()
    model = model_info(server.url)
    PORTAL = portal(server.url)  # noqa: N806 - the customer portal's headers (issue 15)
    pool = synthetic_records(server.url, 2000, seed=303, prefix="load")
    score(server.url, pool[:500])  # a risk list to read from the start
    fresh = iter(synthetic_records(server.url, 5000, seed=304, prefix="load-d"))
    fresh_lock = threading.Lock()

    samples: list[tuple[float, int]] = []  # (t, rss bytes)
    log: list[tuple[float, str, int, float]] = []  # (t, kind, status, seconds)
    errors: list[str] = []
    lock = threading.Lock()
    proc = psutil.Process(server.proc.pid)
    start = time.monotonic()
    deadline = start + SECONDS

    def rss() -> int:
        return proc.memory_info().rss + sum(c.memory_info().rss
                                            for c in proc.children(recursive=True))

    def sampler() -> None:
        while time.monotonic() < deadline:
            samples.append((time.monotonic() - start, rss()))
            time.sleep(0.2)

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        with httpx.Client(base_url=server.url, timeout=30) as c:

            def call(kind: str, method: str, path: str, **kw) -> httpx.Response | None:  # noqa: ANN003
                t = time.monotonic()
                try:
                    r = c.request(method, path, **kw)
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(f"{kind}: {type(exc).__name__} {exc}")
                        log.append((t - start, kind, 0, time.monotonic() - t))
                    return None
                with lock:
                    log.append((t - start, kind, r.status_code, time.monotonic() - t))
                    if r.status_code != EXPECTED[kind]:
                        errors.append(f"{kind}: {r.status_code} {r.text[:300]}")
                return r if r.status_code == EXPECTED[kind] else None

            while time.monotonic() < deadline:
                x = rnd.random()
                if x < 0.55:
                    call("risk_list", "GET", "/v1/risk-list", headers=ADMIN,
                         params={"limit": 50, **({"band": "high"} if x < 0.25 else {})})
                elif x < 0.92:
                    call("predict", "POST", "/v1/predictions", headers=ADMIN,
                         json=rnd.choice(pool))
                else:  # a customer contests: scored, given a link, disputes
                    with fresh_lock:
                        rec = next(fresh)
                    p = call("predict", "POST", "/v1/predictions", headers=ADMIN, json=rec)
                    link = p and call("access_link", "POST",
                                      f"/v1/customers/{rec['customer_id']}/access-link",
                                      headers=PORTAL)
                    opened = link and call("session", "POST", "/v1/sessions",
                                           json={"link": link.json()["token"]})
                    if opened:
                        call("dispute", "POST", "/v1/disputes",
                             json=dispute_body(p.json(), model),
                             headers=bearer(opened.json()["token"])
                             | {"Idempotency-Key": str(uuid.uuid4())})

    threads = [threading.Thread(target=sampler)] + [
        threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 120)
    elapsed = time.monotonic() - start
    assert server.proc.poll() is None, "the server died under load"

    # -- figures ------------------------------------------------------------------------
    lat = [s for _, _, _, s in log]
    kinds = Counter(k for _, k, _, _ in log)
    per_kind = {k: {"requests": n,
                    "p50_ms": round(1000 * pct([s for _, kk, _, s in log if kk == k], .50), 2),
                    "p99_ms": round(1000 * pct([s for _, kk, _, s in log if kk == k], .99), 2)}
                for k, n in kinds.items()}
    warm = [(t, m) for t, m in samples if t >= WARMUP * SECONDS]
    q = max(1, len(warm) // 4)
    first = statistics.median(m for _, m in warm[:q])
    last = statistics.median(m for _, m in warm[-q:])
    mib = 1024 * 1024
    report = {
        "database": database_url.split(":")[0], "seconds": round(elapsed, 1),
        "threads": THREADS, "requests": len(log),
        "throughput_rps": round(len(log) / elapsed, 1),
        "errors": len(errors), "error_rate": len(errors) / max(1, len(log)),
        "p50_ms": round(1000 * pct(lat, .50), 2), "p95_ms": round(1000 * pct(lat, .95), 2),
        "p99_ms": round(1000 * pct(lat, .99), 2), "max_ms": round(1000 * max(lat), 2),
        "by_kind": per_kind,
        "rss_mib": {"first_quarter_median": round(first / mib, 1),
                    "last_quarter_median": round(last / mib, 1),
                    "peak": round(max(m for _, m in samples) / mib, 1),
                    "samples": len(samples), "warmup_s": round(WARMUP * SECONDS, 1)},
    }
    (tmp_path / "load.json").write_text(json.dumps(report, indent=2))
    if os.environ.get("CHURN_LOAD_REPORT"):
        Path(os.environ["CHURN_LOAD_REPORT"]).write_text(json.dumps(report, indent=2))
    print(f"\n[load] {json.dumps(report)}\n[load] written to {tmp_path / 'load.json'}")

    assert len(log) > 0 and kinds["dispute"] > 0, kinds
    assert not errors, (f"error rate {len(errors)}/{len(log)}", errors[:5])
    assert last <= max(first * 1.15, first + 30 * mib), (
        f"memory grew: RSS median {first / mib:.1f} MiB in the first quarter, "
        f"{last / mib:.1f} MiB in the last")
