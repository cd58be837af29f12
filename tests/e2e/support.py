"""Helpers shared by the crash, replica and load suites: seed high-risk customers over
HTTP, issue their access links, build dispute bodies, and check the database after."""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from .conftest import ADMIN_TOKEN, bearer

ADMIN = bearer(ADMIN_TOKEN)


def clean(value: Any) -> Any:
    """A data-frame value as JSON takes it (NaN: null; numpy scalars: Python numbers)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def model_info(url: str) -> dict[str, Any]:
    r = httpx.get(url + "/v1/model", headers=ADMIN, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def synthetic_records(url: str, n: int, seed: int, prefix: str) -> list[dict[str, Any]]:
    """`n` synthetic customers as score requests in the served model's features, with
    ids unique to `prefix`."""
    from training.synthetic import generate

    names = [f["name"] for f in model_info(url)["features"]]
    frame = generate(n, seed=seed)
    return [{"customer_id": f"{prefix}-{i}", "features": {k: clean(r[k]) for k in names}}
            for i, r in enumerate(frame.to_dict(orient="records"))]


def score(url: str, records: list[dict[str, Any]], client: httpx.Client | None = None
          ) -> list[dict[str, Any]]:
    c = client or httpx
    r = c.post(url + "/v1/predictions", headers=ADMIN, json=records, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()


def high_risk(url: str, n: int, seed: int, prefix: str, pool: int = 400
              ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Score a pool of synthetic customers; the `n` with an open retention task (high
    risk, routed to a person), highest score first: (record, prediction) pairs."""
    records = synthetic_records(url, pool, seed, prefix)
    preds = score(url, records)
    pairs = [(rec, p) for rec, p in zip(records, preds, strict=True)
             if p["retention_task_id"] is not None]
    pairs.sort(key=lambda rp: -rp[1]["score"])
    assert len(pairs) >= n, f"only {len(pairs)} of {pool} customers are high risk"
    return pairs[:n]


_PORTALS: dict[str, dict[str, str]] = {}


def portal(url: str, client: httpx.Client | None = None) -> dict[str, str]:
    """The headers of an integration user (the customer portal) on the server at `url`."""
    if url not in _PORTALS:
        c = client or httpx
        r = c.post(url + "/v1/admin/users", headers=ADMIN, timeout=30,
                   json={"name": f"e2e portal {len(_PORTALS)} {id(c)}", "role": "integration"})
        assert r.status_code == 201, r.text
        _PORTALS[url] = bearer(r.json()["token"])
    return _PORTALS[url]


def customer_token(url: str, customer_id: str, client: httpx.Client | None = None) -> str:
    """A customer session: the portal's link for them, exchanged once (issue 15)."""
    c = client or httpx
    r = c.post(f"{url}/v1/customers/{customer_id}/access-link", headers=portal(url, client),
               timeout=30)
    assert r.status_code == 201, r.text
    s = c.post(f"{url}/v1/sessions", json={"link": r.json()["token"]}, timeout=30)
    assert s.status_code == 201, s.text
    return s.json()["token"]


def other_value(feature: dict[str, Any], value: Any) -> Any:
    """A valid value of a served feature other than `value`."""
    if feature["type"] == "numeric":
        lo = feature["min"] if feature["min"] is not None else 0.0
        hi = feature["max"] if feature["max"] is not None else lo + 10.0
        return float(hi) if value is None or float(value) != float(hi) else float(lo)
    return next(c for c in feature["categories"] if c != value)


def dispute_body(prediction: dict[str, Any], model: dict[str, Any],
                 statement: str = "My contract changed last month.") -> dict[str, Any]:
    """A dispute of `prediction` contesting its strongest factor with another value."""
    features = {f["name"]: f for f in model["features"]}
    top = prediction["contributions"][0]
    return {"prediction_id": prediction["prediction_id"],
            "contested_features": [{"feature": top["feature"],
                                    "claimed_value": other_value(features[top["feature"]],
                                                                 top["value"])}],
            "statement": statement, "wants_human_review": True}


def audit_verify(url: str) -> dict[str, Any]:
    r = httpx.get(url + "/v1/audit/verify", headers=ADMIN, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


# -- after the fact: the database itself ---------------------------------------------------
@dataclass
class DbState:
    disputes: list[dict[str, Any]]
    keys: list[dict[str, Any]]
    customers: dict[str, dict[str, Any]]
    open_tasks: list[dict[str, Any]]
    audit_seqs: list[int]
    head_seq: int
    dispute_audits: dict[str, int]  # dispute id -> number of dispute.opened rows


def read_state(database_url: str) -> DbState:
    """Everything the invariants need, read straight from the database (servers down or up)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = lambda q: [dict(r._mapping) for r in conn.execute(sa.text(q))]  # noqa: E731
            disputes = rows("SELECT id, customer_ref, prediction_id, status FROM disputes")
            keys = rows("SELECT customer_ref, key, dispute_id FROM idempotency_keys")
            customers = {r["customer_ref"]: r for r in rows(
                "SELECT customer_ref, external_id, restricted, objected FROM customers")}
            open_tasks = rows("SELECT id, customer_ref, prediction_id, status "
                              "FROM retention_tasks WHERE status IN ('open', 'claimed')")
            seqs = [r["seq"] for r in rows("SELECT seq FROM audit_log ORDER BY seq")]
            head = rows("SELECT seq FROM audit_head WHERE id = 1")[0]["seq"]
            counts: dict[str, int] = {}
            for r in rows("SELECT objects FROM audit_log WHERE action = 'dispute.opened'"):
                did = json.loads(r["objects"])["dispute_id"]
                counts[did] = counts.get(did, 0) + 1
    finally:
        engine.dispose()
    return DbState(disputes, keys, customers, open_tasks, seqs, int(head), counts)


def read_sound_state(database_url: str, acknowledged: Iterable[str]) -> DbState:
    """The database after the fact (servers stopped), once it has passed what every
    concurrency suite ends on: exactly the `acknowledged` disputes exist, each with one
    `dispute.opened` audit row; every stored prediction has one `prediction.created` row
    and no such row names a lost one; the audit sequence runs from 1 to its head without a
    gap; no row points at nothing; the engine's own integrity check passes. The state is
    returned for the suite's own checks."""
    state = read_state(database_url)
    expected = sorted(set(acknowledged))
    assert sorted(d["id"] for d in state.disputes) == expected, "a dispute lost or extra"
    assert sorted(state.dispute_audits) == expected, "a dispute without its audit row"
    assert all(n == 1 for n in state.dispute_audits.values()), "a dispute audited twice"
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            stored = set(conn.execute(sa.text("SELECT id FROM predictions")).scalars())
            audited = Counter(json.loads(o)["prediction_id"] for o in conn.execute(sa.text(
                "SELECT objects FROM audit_log WHERE action = 'prediction.created'")).scalars())
    finally:
        engine.dispose()
    assert set(audited) == stored, "a prediction without its audit row, or the reverse"
    assert all(n == 1 for n in audited.values()), "a prediction audited twice"
    assert state.audit_seqs == list(range(1, state.head_seq + 1)), "a gap in the audit chain"
    orphans = {name: n for name, n in orphan_counts(database_url).items() if n}
    assert not orphans, f"rows pointing at nothing: {orphans}"
    assert integrity_check(database_url) == []
    return state


def orphan_counts(database_url: str) -> dict[str, int]:
    """Rows pointing at nothing (foreign keys by hand: SQLite only checks them when on)."""
    queries = {
        "keys_without_dispute": "SELECT count(*) FROM idempotency_keys k LEFT JOIN disputes d "
                                "ON d.id = k.dispute_id WHERE d.id IS NULL",
        "disputes_without_prediction": "SELECT count(*) FROM disputes d LEFT JOIN predictions p"
                                       " ON p.id = d.prediction_id WHERE p.id IS NULL",
        "disputes_without_customer": "SELECT count(*) FROM disputes d LEFT JOIN customers c "
                                     "ON c.customer_ref = d.customer_ref "
                                     "WHERE c.customer_ref IS NULL",
        "tasks_without_prediction": "SELECT count(*) FROM retention_tasks t LEFT JOIN "
                                    "predictions p ON p.id = t.prediction_id WHERE p.id IS NULL",
        "predictions_without_customer": "SELECT count(*) FROM predictions p LEFT JOIN "
                                        "customers c ON c.customer_ref = p.customer_ref "
                                        "WHERE c.customer_ref IS NULL",
        "latest_prediction_missing": "SELECT count(*) FROM customers c LEFT JOIN predictions p "
                                     "ON p.id = c.latest_prediction_id "
                                     "WHERE c.latest_prediction_id IS NOT NULL AND p.id IS NULL",
        "decided_without_decision": "SELECT count(*) FROM disputes d LEFT JOIN "
                                    "dispute_decisions x ON x.dispute_id = d.id "
                                    "WHERE d.status = 'decided' AND x.dispute_id IS NULL",
    }
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {k: int(conn.execute(sa.text(q)).scalar_one()) for k, q in queries.items()}
    finally:
        engine.dispose()


def integrity_check(database_url: str) -> list[str]:
    """SQLite: PRAGMA integrity_check and foreign_key_check (problems, [] when sound).
    PostgreSQL: every index valid and every foreign key / check constraint validated."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        con = sqlite3.connect(url.database)
        try:
            out = [r[0] for r in con.execute("PRAGMA integrity_check")]
            fks = con.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            con.close()
        problems = [] if out == ["ok"] else out
        return problems + [f"foreign key: {fk}" for fk in fks]
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            bad_idx = conn.execute(sa.text(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                "AND NOT (i.indisvalid AND i.indisready)")).scalars().all()
            bad_con = conn.execute(sa.text(
                "SELECT conname FROM pg_constraint c JOIN pg_namespace n "
                "ON n.oid = c.connamespace WHERE n.nspname = 'public' "
                "AND NOT c.convalidated")).scalars().all()
            # re-check every unique index by rebuilding it (fails on any duplicate)
            conn.execute(sa.text("REINDEX SCHEMA public"))
    finally:
        engine.dispose()
    return [f"invalid index {i}" for i in bad_idx] + [f"unvalidated {c}" for c in bad_con]
