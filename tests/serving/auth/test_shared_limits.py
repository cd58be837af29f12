"""Customer rate limits: in each process without CHURN_REDIS_URL, shared by every app (every
replica) through Redis with it. Each test counts under a key prefix of its own, so runs
sharing the machine's Redis do not collide (`redis_prefix`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from limits.storage import RedisStorage

from serving.auth.deps import Limits
from serving.auth.ratelimit import RateLimiter
from serving.auth.redislimit import SharedRateLimiter
from serving.main import create_app
from serving.system.preflight import StartupError
from tests.e2e.conftest import free_port
from tests.serving.conftest import ADMIN_TOKEN, REPO, bearer, open_session

STAFF = bearer(ADMIN_TOKEN)


@pytest.fixture
def database_url(tmp_path: Path) -> str:  # the limits do not depend on the database
    return f"sqlite:///{tmp_path}/churn.db"


def _linked(c: TestClient, customer: dict) -> dict[str, str]:
    """Score `customer`, have the portal mint their link and open a session with it: the
    customer's headers."""
    assert c.post("/v1/predictions", headers=STAFF, json=customer).status_code == 201
    user = c.post("/v1/admin/users", headers=STAFF,
                  json={"name": f"portal {customer['customer_id']}", "role": "integration"})
    assert user.status_code == 201, user.text
    r = c.post(f"/v1/customers/{customer['customer_id']}/access-link",
               headers=bearer(user.json()["token"]))
    assert r.status_code == 201, r.text
    return bearer(open_session(c, r.json()["token"]))


def _alternate(a: TestClient, b: TestClient, headers: dict[str, str], n: int) -> list[int]:
    return [(a if i % 2 == 0 else b).get("/v1/me", headers=headers).status_code
            for i in range(n)]


def test_in_process_without_redis_each_app_counts_alone(settings, host, customers):
    tight = settings.model_copy(update={"rate_limit_per_token": 3})
    limits = Limits(tight)
    assert isinstance(limits.token, RateLimiter) and isinstance(limits.client, RateLimiter)
    with TestClient(create_app(tight, host=host)) as a, \
            TestClient(create_app(tight, host=host)) as b:
        me = _linked(a, customers[0])
        # two replicas, each counting its own: twice the limit before a 429
        assert _alternate(a, b, me, 7) == [200] * 6 + [429]


def test_two_apps_share_one_limit_in_redis(settings, host, customers, redis_url,
                                           redis_prefix):
    shared = settings.model_copy(update={"rate_limit_per_token": 3,
                                         "rate_limit_per_client": 1000,
                                         "redis_url": redis_url,
                                         "redis_key_prefix": redis_prefix})
    limits = Limits(shared)
    assert isinstance(limits.token, SharedRateLimiter)
    with TestClient(create_app(shared, host=host)) as a, \
            TestClient(create_app(shared, host=host)) as b:
        me = _linked(a, customers[0])
        assert _alternate(a, b, me, 5) == [200, 200, 200, 429, 429]
        r = b.get("/v1/me", headers=me)
        assert r.status_code == 429 and r.json()["error"] == "rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        other = _linked(b, customers[1])  # another link has its own count
        assert a.get("/v1/me", headers=other).status_code == 200
    keys = redis.Redis.from_url(redis_url).keys(f"{redis_prefix}:*")
    assert keys, "nothing was counted in Redis"
    assert all(b"token" in k or b"client" in k for k in keys)


def test_shared_client_limit_counts_failed_attempts(settings, host, redis_url, redis_prefix):
    shared = settings.model_copy(update={"rate_limit_per_client": 4, "redis_url": redis_url,
                                         "redis_key_prefix": redis_prefix})
    with TestClient(create_app(shared, host=host)) as a, \
            TestClient(create_app(shared, host=host)) as b:
        # no token: 401 until the address has used its shared allowance, then 429
        assert _alternate(a, b, {}, 6) == [401, 401, 401, 401, 429, 429]


def test_window_resets(redis_url, redis_prefix):
    storage = RedisStorage(redis_url, key_prefix=redis_prefix)
    limiter = SharedRateLimiter(storage, "token", 2, 1)
    assert [limiter.hit("k"), limiter.hit("k")] == [None, None]
    wait = limiter.hit("k")
    assert wait is not None and 0 <= wait <= 1
    time.sleep(wait + 0.05)
    assert limiter.hit("k") is None


def test_redis_failing_later_counts_in_process(caplog):
    """Redis gone after start: every replica counts on its own again (logged), instead of
    refusing every customer or letting them through unlimited."""
    storage = RedisStorage(f"redis://127.0.0.1:{free_port()}/0", key_prefix="x",
                           wrap_exceptions=True, socket_connect_timeout=0.5)
    limiter = SharedRateLimiter(storage, "token", 2, 60)
    assert [limiter.hit("k") is None for _ in range(3)] == [True, True, False]
    assert "counted in this process only" in caplog.text


def test_unreachable_redis_fails_at_start(settings):
    url = f"redis://:secret@127.0.0.1:{free_port()}/0"
    t0 = time.monotonic()
    with pytest.raises(StartupError) as caught:
        create_app(settings.model_copy(update={"redis_url": url}))
    assert time.monotonic() - t0 < 5
    line = str(caught.value)
    assert "\n" not in line and "CHURN_REDIS_URL" in line
    assert f"127.0.0.1:{url.rsplit(':', 1)[1]}" in line and "secret" not in line


def test_serve_with_unreachable_redis_prints_one_line(base_settings, tmp_path):
    port = free_port()
    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "serving.cli", "serve"], cwd=REPO, capture_output=True,
        text=True, timeout=60,
        env={**os.environ, "CHURN_DATABASE_URL": f"sqlite:///{tmp_path}/churn.db",
             "CHURN_REDIS_URL": f"redis://127.0.0.1:{port}/0",
             "CHURN_ADMIN_TOKEN": ADMIN_TOKEN, "CHURN_MODEL_URI": base_settings.model_uri,
             "MLFLOW_TRACKING_URI": base_settings.tracking_uri})
    text = (out.stdout + out.stderr).strip()
    assert out.returncode != 0
    assert len(text.splitlines()) == 1 and "Traceback" not in text, text
    assert f"redis://127.0.0.1:{port}/0" in text, text
    assert time.monotonic() - t0 < 30
