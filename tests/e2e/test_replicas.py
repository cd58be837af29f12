"""Two API replicas (two server processes) on one PostgreSQL database, hit concurrently:
predictions for the same high-risk customers on both, disputes whose same
Idempotency-Key is sent to both at once, objections sent to both at once, and reads.

Afterwards: no customer has two open retention tasks, no dispute is lost, each key
opened exactly one dispute (one 201, the other replica 200 with the same id), every
prediction and dispute has its audit row, and the audit chain is not forked (verify OK
on both replicas, sequence numbers unique and contiguous).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.postgres import reset_schema as reset_pg

from .conftest import LiveServer, bearer
from .support import (
    ADMIN,
    audit_verify,
    customer_token,
    dispute_body,
    high_risk,
    model_info,
    read_sound_state,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

GROUP = 10  # customers per group: scored, disputed, objecting
SCORES_PER_CUSTOMER = 8  # concurrent single predictions per customer, half on each replica


@pytest.fixture
def database_url(pg_database: str) -> str:  # replicas share one PostgreSQL database
    reset_pg(pg_database)
    return pg_database


@pytest.fixture
def two_replicas(server_env, tmp_path, request) -> tuple[LiveServer, LiveServer]:
    """Two servers started at the same time on the fresh database: their migrations and
    startup audit rows race too. Both stopped at teardown."""
    servers = [LiveServer(dict(server_env), tmp_path / f"replica{i}.log") for i in range(2)]
    for s in servers:
        request.addfinalizer(s.stop)
    errors: list[BaseException] = []

    def start(s: LiveServer) -> None:
        try:
            s.start()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return servers[0], servers[1]


def test_two_replicas_one_database(two_replicas, database_url):
    t0 = time.monotonic()
    a, b = two_replicas
    replicas = [a.url, b.url]
    model = model_info(a.url)
    pairs = high_risk(a.url, 3 * GROUP, seed=202, prefix="rep")
    scored = pairs[:GROUP]
    disputed = pairs[GROUP:2 * GROUP]
    objecting = pairs[2 * GROUP:]
    tokens = {rec["customer_id"]: customer_token(replicas[i % 2], rec["customer_id"])
              for i, (rec, _) in enumerate(pairs)}

    results: dict[str, list[tuple[str, int, Any]]] = defaultdict(list)
    lock = threading.Lock()
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "c"):
            local.c = httpx.Client(timeout=60)
        return local.c

    def note(kind: str, who: str, r: httpx.Response) -> None:
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") \
            else r.text
        with lock:
            results[kind].append((who, r.status_code, body))

    def predict(rec: dict[str, Any], url: str) -> None:
        note("predict", rec["customer_id"],
             httpx.post(url + "/v1/predictions", headers=ADMIN, json=rec, timeout=60))

    def at_once(*fns) -> None:  # noqa: ANN002
        """Run every fn at the same instant, each in its own thread (a barrier)."""
        barrier = threading.Barrier(len(fns))

        def run(fn) -> None:  # noqa: ANN001
            barrier.wait()
            fn()

        threads = [threading.Thread(target=run, args=(fn,)) for fn in fns]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def both_at_once(fn) -> None:  # noqa: ANN001
        """fn(url) on both replicas at the same instant."""
        at_once(*[lambda u=u: fn(u) for u in replicas])

    def dispute(rec: dict[str, Any], pred: dict[str, Any]) -> None:
        """The same key and body to both replicas, while both score the customer."""
        body = dispute_body(pred, model)
        key = f"rep-{uuid.uuid4()}"
        headers = bearer(tokens[rec["customer_id"]]) | {"Idempotency-Key": key}
        send = lambda url: note("dispute", rec["customer_id"] + "|" + key, httpx.post(  # noqa: E731
            url + "/v1/disputes", headers=headers, json=body, timeout=60))
        at_once(*[lambda u=u: send(u) for u in replicas],
                *[lambda u=u: predict(rec, u) for u in replicas])

    def objection(rec: dict[str, Any]) -> None:
        """An objection sent to both replicas, while both score the customer."""
        headers = bearer(tokens[rec["customer_id"]])
        send = lambda url: note("object", rec["customer_id"], httpx.post(  # noqa: E731
            url + "/v1/objections", headers=headers, timeout=60))
        at_once(*[lambda u=u: send(u) for u in replicas],
                *[lambda u=u: predict(rec, u) for u in replicas])

    def reads(url: str) -> None:
        note("read", "risk-list", client().get(url + "/v1/risk-list", headers=ADMIN,
                                               params={"band": "high", "limit": 100}))
        note("read", "disputes", client().get(url + "/v1/disputes", headers=ADMIN))
        pred = random.choice(pairs)[1]
        note("read", "prediction", client().get(
            f"{url}/v1/predictions/{pred['prediction_id']}", headers=ADMIN))

    jobs = []
    for rec, _ in pairs:  # every customer is scored on both replicas at once, several times
        for _n in range(SCORES_PER_CUSTOMER // 2):
            jobs.append(lambda rec=rec: both_at_once(lambda url: predict(rec, url)))
    jobs += [lambda rec=rec, pred=pred: dispute(rec, pred) for rec, pred in disputed]
    jobs += [lambda rec=rec: objection(rec) for rec, _ in objecting]
    jobs += [lambda n=n: reads(replicas[n % 2]) for n in range(20)]
    random.seed(3)
    random.shuffle(jobs)
    seeded = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(j) for j in jobs]:
            f.result()
    traffic = time.monotonic() - seeded

    # -- every answer as expected, no 5xx --------------------------------------------------
    objectors = {rec["customer_id"] for rec, _ in objecting}
    for who, status, body in results["predict"]:
        allowed = (201, 409) if who in objectors else (201,)
        assert status in allowed, (who, status, body)
    for who, status, body in results["read"]:
        assert status == 200, (who, status, body)
    by_key: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for who, status, body in results["dispute"]:
        assert status in (200, 201), (who, status, body)
        by_key[who].append((status, body["dispute_id"]))
    assert len(by_key) == GROUP
    for key, answers in by_key.items():
        assert sorted(s for s, _ in answers) == [200, 201], (key, answers)
        assert len({d for _, d in answers}) == 1, (key, answers)
    per_objector = defaultdict(list)
    for who, status, body in results["object"]:
        assert status in (200, 201), (who, status, body)
        per_objector[who].append(status)
    assert all(sorted(s) == [200, 201] for s in per_objector.values()), per_objector
    # once the objection is recorded, no replica scores the customer
    for rec, _ in objecting:
        for url in replicas:
            r = httpx.post(url + "/v1/predictions", headers=ADMIN, json=rec, timeout=30)
            assert r.status_code == 409 and r.json()["status"] == "suppressed", r.text

    # -- phase 2: a reviewer decides the dispute on both replicas at once while the customer
    # contests another prediction (same key on both) and both replicas score them -----------
    fresh = {who: body for who, status, body in results["predict"] if status == 201}
    first_dispute = {key.split("|")[0]: answers[0][1] for key, answers in by_key.items()}

    def decide_while_contesting(rec: dict[str, Any]) -> None:
        cid = rec["customer_id"]
        key = f"rep2-{uuid.uuid4()}"
        headers = bearer(tokens[cid]) | {"Idempotency-Key": key}
        body = dispute_body(fresh[cid], model)
        decision = {"decision": "upheld", "rationale": "Checked against the contract."}
        decide = lambda url: note("decide", cid, httpx.post(  # noqa: E731
            f"{url}/v1/disputes/{first_dispute[cid]}/decision", headers=ADMIN, json=decision,
            timeout=60))
        send = lambda url: note("dispute2", cid + "|" + key, httpx.post(  # noqa: E731
            url + "/v1/disputes", headers=headers, json=body, timeout=60))
        at_once(*[lambda u=u: decide(u) for u in replicas],
                *[lambda u=u: send(u) for u in replicas],
                *[lambda u=u: predict(rec, u) for u in replicas])

    t2 = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        for f in [pool.submit(decide_while_contesting, rec) for rec, _ in disputed]:
            f.result()
    traffic += time.monotonic() - t2
    per_decision = defaultdict(list)
    for who, status, body in results["decide"]:
        assert status in (201, 409), (who, status, body)
        per_decision[who].append(status)
    assert len(per_decision) == GROUP
    assert all(sorted(s) == [201, 409] for s in per_decision.values()), per_decision
    by_key2: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for who, status, body in results["dispute2"]:
        assert status in (200, 201), (who, status, body)
        by_key2[who].append((status, body["dispute_id"]))
    for key, answers in by_key2.items():
        assert sorted(s for s, _ in answers) == [200, 201], (key, answers)
        assert len({d for _, d in answers}) == 1, (key, answers)
    for who, status, body in results["predict"]:
        assert status in ((201, 409) if who in objectors else (201,)), (who, status, body)

    # -- the audit chain, seen from both replicas -------------------------------------------
    va, vb = audit_verify(a.url), audit_verify(b.url)
    assert va["ok"] and vb["ok"], (va, vb)
    assert va["head_seq"] == vb["head_seq"] and va["head_hash"] == vb["head_hash"]

    # -- the database (both stopped: nothing moves) -----------------------------------------
    a.stop()
    b.stop()
    # no lost dispute (each acknowledged key opened one), each dispute and prediction
    # audited once, an unforked chain's sequence without a gap, no orphan row
    acked = {answers[0][1] for answers in [*by_key.values(), *by_key2.values()]}
    state = read_sound_state(database_url, acked)
    ref_of = {c["external_id"]: ref for ref, c in state.customers.items()}
    open_per_customer = Counter(t["customer_ref"] for t in state.open_tasks)
    assert max(open_per_customer.values()) == 1, "a customer has two open retention tasks"
    for rec, _ in scored:  # high risk, scored many times on both: exactly one open task
        assert open_per_customer[ref_of[rec["customer_id"]]] == 1
    for group, flag in ((disputed, "restricted"), (objecting, "objected")):
        for rec, _ in group:  # restricted / objecting: no open task
            ref = ref_of[rec["customer_id"]]
            assert open_per_customer[ref] == 0 and state.customers[ref][flag]
    # restriction and tasks agree with the disputes left open, for every customer
    open_disputes = Counter(d["customer_ref"] for d in state.disputes if d["status"] == "open")
    for ref, cust in state.customers.items():
        assert bool(cust["restricted"]) == (open_disputes[ref] > 0), (ref, cust)
        if cust["restricted"] or cust["objected"]:
            assert open_per_customer[ref] == 0, (ref, cust)
    for rec, _ in disputed:  # the first dispute decided, the second still open
        assert open_disputes[ref_of[rec["customer_id"]]] == 1
    # one dispute per key
    assert len(state.keys) == len(acked) == len({k["dispute_id"] for k in state.keys})
    # an unforked chain: its head is the one both replicas verified, no two rows claim the
    # same predecessor
    assert state.head_seq == va["head_seq"]
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        forks = conn.execute(sa.text(
            "SELECT count(*) FROM (SELECT prev_hash FROM audit_log GROUP BY prev_hash "
            "HAVING count(*) > 1) f")).scalar_one()
    engine.dispose()
    assert forks == 0, "two audit rows claim the same predecessor: the chain forked"

    counts = {k: Counter(s for _, s, _ in v) for k, v in results.items()}
    print(f"\n[replicas] 2 replicas, 1 PostgreSQL: predictions={dict(counts['predict'])} "
          f"disputes={dict(counts['dispute'])} ({len(acked)} keys -> {len(state.disputes)} "
          f"disputes) decisions={dict(counts['decide'])} second disputes="
          f"{dict(counts['dispute2'])} objections={dict(counts['object'])} "
          f"reads={dict(counts['read'])} "
          f"open tasks={len(state.open_tasks)} audit rows={state.head_seq} "
          f"seed={seeded - t0:.1f}s traffic={traffic:.1f}s")
