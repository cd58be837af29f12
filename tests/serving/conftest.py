"""Serving test fixtures: one small model trained once per test run on the default
(synthetic) data (each session gets its own copy of its MLflow store, tests/artefacts.py),
and every storage/API test run on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serving.config import Settings
from serving.main import create_app
from serving.modelhost import ModelHost
from serving.storage import Database, upgrade
from tests.artefacts import Trained, champion_store
from tests.artefacts import train_small as _train  # noqa: F401 - suites import it from here
from tests.e2e.support import clean

REPO = Path(__file__).resolve().parents[2]
TELCO_CSV = REPO.parent / "shared" / "data" / "telco" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
TELCO_SCHEMA = REPO / "training" / "datasets" / "telco.yaml"
SYNTHETIC_SCHEMA = REPO / "training" / "datasets" / "synthetic.yaml"
ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """A small model trained on the default synthetic data, registered as @champion (the
    session's own copy of the store)."""
    return champion_store(tmp_path_factory, "mlflow")[1]


@pytest.fixture(scope="session")
def base_settings(trained: Trained) -> Settings:
    # the tests deliver the outbox themselves (`deliver`), into a mailbox of their own
    return Settings(tracking_uri=trained.tracking_uri, model_uri=trained.model_uri,
                    database_url="sqlite:///unused.db", admin_token=ADMIN_TOKEN,
                    delivery_worker=False)


@pytest.fixture(scope="session")
def host(base_settings: Settings) -> ModelHost:
    """The champion, loaded once and shared by the apps of the session."""
    h = ModelHost(base_settings)
    h.load()
    return h


# -- databases -----------------------------------------------------------------------------
@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """An empty, migrated database (SQLite or PostgreSQL, per `database_url`)."""
    d = Database(database_url)
    upgrade(d.engine)
    yield d
    d.dispose()


# -- the app -------------------------------------------------------------------------------
@pytest.fixture
def settings(database_url: str, base_settings: Settings, tmp_path: Path) -> Settings:
    return base_settings.model_copy(update={"database_url": database_url,
                                            "mailbox_dir": str(tmp_path / "mailbox"),
                                            "delivery_journal_dir": str(tmp_path / "journal")})


@pytest.fixture
def app(settings: Settings, host: ModelHost):  # noqa: ANN201
    return create_app(settings, host=host)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(app) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def second_agent(api: Api) -> tuple[str, str]:
    """Another agent, created by the admin: their token and their actor."""
    r = api.post("/v1/admin/users", role="admin", json={"name": "second agent",
                                                         "role": "agent"})
    assert r.status_code == 201, r.text
    return r.json()["token"], f"staff:{r.json()['user_id']}"


@pytest.fixture
def tokens(client: TestClient) -> dict[str, str]:
    """A token per staff role (created through the admin API): the integration's and
    the outside auditor's too."""
    out = {"admin": ADMIN_TOKEN}
    for role in ("agent", "reviewer", "integration", "auditor"):
        r = client.post("/v1/admin/users", json={"name": f"test {role}", "role": role},
                        headers=bearer(ADMIN_TOKEN))
        assert r.status_code == 201, r.text
        out[role] = r.json()["token"]
    return out


@pytest.fixture
def as_agent(tokens: dict[str, str]) -> dict[str, str]:
    return bearer(tokens["agent"])


# -- data ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def customers(host: ModelHost) -> list[dict[str, Any]]:
    """Synthetic customers as score requests, in the served model's features."""
    from training.synthetic import generate

    names = host.current().model.feature_names
    frame = generate(600, seed=11)
    return [
        {"customer_id": str(r["customer_id"]), "features": {n: clean(r[n]) for n in names}}
        for r in frame.to_dict(orient="records")
    ]


@pytest.fixture(scope="session")
def by_risk(host: ModelHost, customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same customers, highest calibrated score first (scored directly by the model)."""
    model = host.current().model
    ex = model.explain_records([c["features"] for c in customers])
    order = sorted(range(len(customers)), key=lambda i: -float(ex.score[i]))
    return [customers[i] | {"expected_score": float(ex.score[i])} for i in order]


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {"customer_id": item["customer_id"], "features": item["features"]}


class Api:
    """Small helpers over the test client."""

    def __init__(self, client: TestClient, tokens: dict[str, str]):
        self.client = client
        self.tokens = tokens

    def headers(self, role: str = "agent") -> dict[str, str]:
        return bearer(self.tokens[role])

    def score(self, items: Any, role: str = "agent", **params: Any):  # noqa: ANN201
        body = [_strip(i) for i in items] if isinstance(items, list) else _strip(items)
        return self.client.post("/v1/predictions", json=body, headers=self.headers(role),
                                params=params)

    def get(self, path: str, role: str = "agent", **params: Any):  # noqa: ANN201
        return self.client.get(path, headers=self.headers(role), params=params)

    def post(self, path: str, role: str = "agent", json: Any = None):  # noqa: ANN201
        return self.client.post(path, headers=self.headers(role), json=json)


@pytest.fixture
def api(client: TestClient, tokens: dict[str, str]) -> Api:
    return Api(client, tokens)


# -- contestability (issue 4) ---------------------------------------------------------------
def portal_link(api: Api, customer_id: str) -> dict[str, Any]:
    """A customer's link as the customer portal (integration role) receives it."""
    r = api.post(f"/v1/customers/{customer_id}/access-link", role="integration")
    assert r.status_code == 201, r.text
    return r.json()


def open_session(client: TestClient, link_token: str) -> str:
    """Exchange a link for a customer session (once); the session's bearer token."""
    r = client.post("/v1/sessions", json={"link": link_token})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def access_token(api: Api, customer_id: str) -> str:
    """A customer session token: the portal's link for them, exchanged once."""
    return open_session(api.client, portal_link(api, customer_id)["token"])


def set_contact(api: Api, customer_id: str, address: str = "c@example.org",
                lang: str = "en") -> None:
    r = api.client.put(f"/v1/customers/{customer_id}/contact",
                       json={"address": address, "lang": lang},
                       headers=api.headers("integration"))
    assert r.status_code == 200, r.text


def deliver(app) -> dict[str, int]:  # noqa: ANN001
    """Run the delivery worker once (the tests' apps run without the thread)."""
    from serving.delivery.service import deliver_once

    return deliver_once(app.state.db, app.state.settings)


def mailbox(settings: Settings, address: str | None = None) -> list[Any]:
    """The development mailbox's messages (to `address`), oldest first."""
    from serving.delivery.transport import read_mailbox

    return [m for m in read_mailbox(settings.mailbox_dir)
            if address is None or m["To"] == address]


def link_in(message: Any) -> str:
    """The link token in a delivered message."""
    import re

    found = re.search(r"token=([A-Za-z0-9_\-]+)", message.get_content())
    assert found, message.get_content()
    return found.group(1)


def follow_link(api: Api, message: Any) -> dict[str, str]:
    """The customer follows the link in a delivered message: the headers of the session
    it opens."""
    return bearer(open_session(api.client, link_in(message)))


def other_value(spec_feature: Any, value: Any) -> Any:
    """A valid value of a model feature other than `value` (to contest or correct)."""
    if spec_feature.kind == "numeric":
        lo = spec_feature.min if spec_feature.min is not None else 0.0
        hi = spec_feature.max if spec_feature.max is not None else lo + 10.0
        return float(hi) if value is None or float(value) != float(hi) else float(lo)
    return next(c for c in spec_feature.categories if c != value)


def dispute_body(prediction: dict[str, Any], host: ModelHost, n: int = 1,
                 statement: str = "My contract changed last month.") -> dict[str, Any]:
    """A dispute of `prediction` contesting its `n` strongest factors with other values."""
    spec = host.current().spec
    contested = [{"feature": c["feature"],
                  "claimed_value": other_value(spec.feature(c["feature"]), c["value"])}
                 for c in prediction["contributions"][:n]]
    return {"prediction_id": prediction["prediction_id"], "contested_features": contested,
            "statement": statement, "wants_human_review": True}


@pytest.fixture
def contest(api: Api, host: ModelHost) -> Contest:
    return Contest(api, host)


class Contest:
    """A customer's side and a reviewer's side of disputes, over HTTP."""

    def __init__(self, api: Api, host: ModelHost):
        self.api = api
        self.host = host
        self.client = api.client

    def scored(self, customer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Score a customer; their prediction and the headers of their access link."""
        r = self.api.score(customer)
        assert r.status_code == 201, r.text
        return r.json(), bearer(access_token(self.api, customer["customer_id"]))

    def dispute(self, prediction: dict[str, Any], headers: dict[str, str],
                key: str | None = None, **kw: Any):  # noqa: ANN201
        body = dispute_body(prediction, self.host, **kw)
        extra = {"Idempotency-Key": key} if key else {}
        return self.client.post("/v1/disputes", json=body, headers=headers | extra)

    def decide(self, dispute_id: str, body: dict[str, Any], role: str = "reviewer"):  # noqa: ANN201
        return self.api.post(f"/v1/disputes/{dispute_id}/decision", role=role, json=body)


@pytest.fixture
def contest_page(contest: Contest, by_risk: list[dict[str, Any]], app: Any) -> tuple:
    """A scored high-risk customer: their prediction, API headers, and a page session of
    their own (a link opens one session: the page gets a link of its own)."""
    from fastapi.testclient import TestClient

    from tests.serving.web.test_pages import open_me

    p, me = contest.scored(by_risk[0])
    page = TestClient(app)
    token = portal_link(contest.api, by_risk[0]["customer_id"])["token"]
    assert open_me(page, token).status_code == 200
    return p, me, page
