"""Two live API replicas (server processes) on one database and one Redis: a customer's
requests spread over both count against one limit, not one limit per replica."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from .conftest import ADMIN_TOKEN, bearer
from .support import customer_token, synthetic_records

pytestmark = pytest.mark.slow
LIMIT = 5


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/churn.db"


def test_two_replicas_share_one_rate_limit(make_server, redis_url, redis_prefix):
    shared = {"CHURN_REDIS_URL": redis_url, "CHURN_REDIS_KEY_PREFIX": redis_prefix,
              "CHURN_RATE_LIMIT_PER_TOKEN": str(LIMIT)}
    a, b = make_server(**shared), make_server(**shared)
    record = synthetic_records(a.url, 1, seed=5, prefix="shared")[0]
    admin = bearer(ADMIN_TOKEN)
    assert httpx.post(a.url + "/v1/predictions", headers=admin, json=record,
                      timeout=30).status_code == 201
    me = bearer(customer_token(b.url, record["customer_id"]))
    with httpx.Client(timeout=30) as c:
        statuses = [c.get((a if i % 2 == 0 else b).url + "/v1/me", headers=me).status_code
                    for i in range(LIMIT + 3)]
    assert statuses == [200] * LIMIT + [429] * 3, statuses
    print(f"\n[shared limits] 2 replicas, limit {LIMIT} per link: {statuses}")
