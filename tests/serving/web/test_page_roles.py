"""Deny by default, for pages too: every page route has a rule; anonymous 401, a wrong
staff role 403, a customer on a staff page 403, staff on a customer page 403."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from serving.web.core import PageRoute
from tests.serving.conftest import ADMIN_TOKEN
from tests.serving.role_table import role_table
from tests.serving.web.test_pages import csrf_of, customer_link, open_me, sign_in

PUBLIC = frozenset({"public"})  # anyone: the sign-in pages and the link's landing page
WHO = ("anonymous", "agent", "reviewer", "admin", "auditor", "integration", "customer")
# METHOD /path -> who may use it
RULES = role_table("""
    GET    /staff                                 public
    GET    /staff/sign-in                         public
    POST   /staff/sign-in                         public
    POST   /staff/sign-out                        public
    GET    /staff/risk                            agent admin
    GET    /staff/customers/{ref}                 agent reviewer admin
    POST   /staff/customers/{ref}/access-link     agent reviewer admin
    POST   /staff/tasks/{task_id}/claim           agent admin
    POST   /staff/tasks/{task_id}/complete        agent admin
    GET    /staff/reviews                         reviewer admin
    GET    /staff/reviews/{dispute_id}            reviewer admin
    POST   /staff/reviews/{dispute_id}            reviewer admin
    GET    /staff/audit                           admin
    GET    /staff/users                           admin
    POST   /staff/users                           admin
    GET    /staff/dashboard                       reviewer admin
    # the queue's forms (issue 16)
    POST   /staff/tasks/{task_id}/attempts        agent admin
    POST   /staff/tasks/{task_id}/release         agent admin
    POST   /staff/tasks/{task_id}/reassign        agent admin
    # rights requests and contest analytics (issue 18)
    POST   /staff/reviews/{dispute_id}/judgement  reviewer admin
    GET    /staff/rights                          reviewer admin
    POST   /staff/rights/{request_id}             reviewer admin
    GET    /staff/analytics                       reviewer admin auditor
    GET    /staff/analytics.csv                   reviewer admin auditor
    # the compliance report, built on request, and its downloads (issue 18)
    GET    /staff/compliance                      reviewer admin auditor
    GET    /staff/compliance/report.html          reviewer admin auditor
    GET    /staff/compliance/report.json          reviewer admin auditor
    GET    /me/copy                               customer
    GET    /me/copy.json                          customer
    GET    /me/rights                             customer
    POST   /me/rights                             customer
    POST   /me/rights/{request_id}/cancel         customer
    GET    /me/erase                              customer
    POST   /me/erase                              customer
    GET    /me                                    public
    POST   /me/session                            public
    POST   /me/sign-out                           public
    GET    /me/contest                            customer
    POST   /me/contest                            customer
    GET    /me/disputes/{dispute_id}              customer
    GET    /me/object                             customer
    POST   /me/object                             customer
    POST   /me/object/withdraw                    customer
""", who=frozenset(WHO) | PUBLIC)


def page_routes(app: Any) -> set[tuple[str, str]]:
    return {(m, rc.original_route.path) for rc in iter_route_contexts(app.routes)
            if isinstance(rc.original_route, PageRoute) for m in rc.original_route.methods}


def test_every_page_has_a_rule(app) -> None:  # noqa: ANN001
    assert page_routes(app) == set(RULES)


@pytest.fixture
def sessions(client, api, tokens, customers) -> dict[str, TestClient]:  # noqa: ANN001
    assert api.score(customers[:2]).status_code == 201
    out = {"anonymous": client}
    for role in ("agent", "reviewer", "admin", "auditor", "integration"):
        c = TestClient(client.app)
        assert sign_in(c, tokens[role] if role != "admin" else ADMIN_TOKEN).status_code == 303
        out[role] = c
    c = TestClient(client.app)
    link = customer_link(api, customers[0]["customer_id"])
    assert open_me(c, link["token"]).status_code == 200
    out["customer"] = c
    return out


def test_page_rules(app, sessions, customers) -> None:  # noqa: ANN001
    values = {"ref": "cu_nobody", "task_id": "no-such-task", "dispute_id": "no-such-dispute",
              "request_id": "no-such-request"}
    for (method, path), allowed in sorted(RULES.items()):
        if (method, path) not in page_routes(app) or allowed == PUBLIC:
            continue
        url = path.format(**values)
        for who in WHO:
            c = sessions[who]
            data = {"csrf_token": csrf_of(c.get("/staff/sign-in").text)}
            r = c.request(method, url, data=data if method == "POST" else None,
                          follow_redirects=False)
            if who in allowed:
                assert r.status_code not in (401, 403), (method, path, who, r.status_code)
            elif who == "anonymous":
                assert r.status_code == 401, (method, path, who, r.status_code)
                assert "sign in" in r.text.lower() or "open the link" in r.text.lower()
            else:
                assert r.status_code == 403, (method, path, who, r.status_code)
