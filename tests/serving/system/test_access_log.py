"""Logs name routes, not people (issue 15): the access log writes the route template and a
request id, never a raw customer id nor a token."""

from __future__ import annotations

import logging

from tests.serving.conftest import access_token, bearer


def test_access_log_names_routes_and_request_ids(api, customers, caplog):
    cid = "ERASE-ME-1"
    customer = customers[0] | {"customer_id": cid}
    with caplog.at_level(logging.INFO, logger="churn.access"):
        assert api.score(customer).status_code == 201
        token = access_token(api, cid)
        api.client.get("/v1/me", headers=bearer(token))
        link = api.post(f"/v1/customers/{cid}/access-link", role="integration").json()
        api.client.get("/me", params={"token": link["token"]})
        r = api.client.delete(f"/v1/customers/{cid}", headers=api.headers("admin"),
                              params={"x": cid})
        assert r.status_code == 200 and len(r.headers["x-request-id"]) >= 8
        r2 = api.client.get("/healthz", headers={"X-Request-ID": "trace-1234abcd"})
        assert r2.headers["x-request-id"] == "trace-1234abcd"
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "churn.access"]
    text = "\n".join(lines)
    assert '"DELETE /v1/customers/{customer_id}" 200' in text
    assert "rid=trace-1234abcd" in text
    assert cid not in text and token not in text and link["token"] not in text
    assert all(" rid=" in line for line in lines)
