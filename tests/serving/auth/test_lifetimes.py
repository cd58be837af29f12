"""Lifetimes as settings (issue 15): an access link (CHURN_LINK_TTL_HOURS), the customer
session it opens (CHURN_CUSTOMER_SESSION_HOURS) and a staff page session
(CHURN_STAFF_SESSION_HOURS), refused at start-up when out of range, used wherever each is
minted, and enforced when they run out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select, update

from models.settings import settings_or_exit
from serving.config import Settings
from serving.main import create_app
from serving.storage.tables import AuthSession
from tests.serving.conftest import ADMIN_TOKEN, Api, bearer, portal_link
from tests.serving.web.test_pages import sign_in

LIFETIMES = {"CHURN_LINK_TTL_HOURS": 744, "CHURN_CUSTOMER_SESSION_HOURS": 168,
             "CHURN_STAFF_SESSION_HOURS": 168}


@pytest.mark.parametrize("variable", sorted(LIFETIMES))
@pytest.mark.parametrize("value", ["0", "-1", "0.001", "1000"])
def test_out_of_range_lifetimes_are_refused_at_start_up(variable, value, monkeypatch, capsys):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as stop:
        settings_or_exit(Settings)
    message = str(stop.value)
    assert f"{variable} is {float(value):g}; expected between 0.0166667 and " \
           f"{LIFETIMES[variable]} hours" in message
    assert f"e.g. {variable}=" in message  # how to fix it


def test_lifetimes_in_range_are_taken_as_given():
    s = Settings(link_ttl_hours=0.5, customer_session_hours=2, staff_session_hours=1 / 60)
    assert (s.link_ttl_hours, s.customer_session_hours) == (0.5, 2)
    with pytest.raises(ValidationError, match="CHURN_STAFF_SESSION_HOURS is 200"):
        Settings(staff_session_hours=200)


def _near(at: str | datetime, hours: float) -> bool:
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    gap = when - datetime.now(UTC)
    return timedelta(hours=hours) - timedelta(seconds=30) < gap <= timedelta(hours=hours)


def test_each_lifetime_is_used_where_it_is_minted(settings, host, tokens, customers):
    short = settings.model_copy(update={"link_ttl_hours": 0.5, "customer_session_hours": 2,
                                        "staff_session_hours": 1.5})
    with TestClient(create_app(short, host=host)) as c:
        api = Api(c, tokens)
        cid = customers[0]["customer_id"]
        assert api.score(customers[0]).status_code == 201
        link = portal_link(api, cid)
        assert _near(link["expires_at"], 0.5)  # the link
        opened = c.post("/v1/sessions", json={"link": link["token"]})
        assert opened.status_code == 201 and _near(opened.json()["expires_at"], 2)
        assert c.get("/v1/me", headers=bearer(opened.json()["token"])).status_code == 200
        # a staff page session: the server-side row and the cookie
        r = sign_in(c, ADMIN_TOKEN)
        assert r.status_code == 303 and "Max-Age=5400" in r.headers["set-cookie"]
        with c.app.state.db.session() as s:
            staff = s.scalars(select(AuthSession).where(AuthSession.kind == "staff")).all()
        assert len(staff) == 1 and _near(staff[0].expires_at, 1.5)


def test_a_session_past_its_lifetime_is_refused(app, client, api, customers):
    cid = customers[0]["customer_id"]
    api.score(customers[0])
    token = client.post("/v1/sessions",
                        json={"link": portal_link(api, cid)["token"]}).json()["token"]
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    with app.state.db.session() as s:  # the session's lifetime runs out
        s.execute(update(AuthSession).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    assert client.get("/v1/me", headers=bearer(token)).status_code == 401
