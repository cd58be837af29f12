"""Every customer id the API accepts can be erased and linked through a real HTTP server
(percent-encoded in the path, decoded once), including ids holding "%", "%2F" as text, "?",
"#", spaces and non-ASCII; ids with "/" are refused at scoring (422)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from .conftest import ADMIN_TOKEN, bearer
from .support import customer_token, synthetic_records

pytestmark = pytest.mark.slow
IDS = ["a%2Fb", "100%", "%00", "a?b#c", "a b", "Zoë-😀", "..x", "a%252F"]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/churn.db"


def test_every_accepted_id_is_linked_and_erased_over_http(make_server):
    server = make_server()
    admin = bearer(ADMIN_TOKEN)
    base = synthetic_records(server.url, 1, seed=3, prefix="ids")[0]
    with httpx.Client(base_url=server.url, headers=admin, timeout=30) as c:
        r = c.post("/v1/predictions", json=[base | {"customer_id": cid} for cid in IDS])
        assert r.status_code == 201, r.text
        for cid in IDS:
            me = bearer(customer_token(server.url, quote(cid, safe="")))
            assert c.get("/v1/me", headers=me).status_code == 200, cid
            gone = c.delete(f"/v1/customers/{quote(cid, safe='')}")
            assert gone.status_code == 200, (cid, gone.text)
        refused = c.post("/v1/predictions", json=base | {"customer_id": "a/b"})
        assert refused.status_code == 422, refused.text
