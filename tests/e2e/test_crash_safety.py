"""Crash safety: disputes sent concurrently with Idempotency-Key headers while the server
is killed with SIGKILL at random moments and restarted. Clients retry with the same key
after a connection error, as a real client would.

Afterwards: every dispute that got a 2xx exists exactly once, each key maps to exactly
one dispute, nothing is half-written (each dispute's restriction applied, its customer's
task cancelled, its audit row present, no orphan rows), the database passes its
integrity check, and the audit chain verifies. SQLite (WAL, synchronous=FULL) and
PostgreSQL.

Size: CHURN_CRASH_KILLS kill/restart cycles (default 3), each kill at a random point of
its own stretch of the 400 disputes (so the pool lasts past the last kill on any machine),
and one more kill while the server starts again (its lifespan: migrations, startup audit
row).
"""

from __future__ import annotations

import os
import queue
import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from . import support
from .conftest import bearer

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("CHURN_CRASH_KILLS", "3"))
CUSTOMERS = 40
ROUNDS = 10  # predictions per customer: each one can be disputed once
THREADS = 6


@dataclass
class Item:
    customer_id: str
    token: str
    body: dict[str, Any]
    key: str = field(default_factory=lambda: f"crash-{uuid.uuid4()}")
    acks: list[tuple[int, str]] = field(default_factory=list)  # (status, dispute id)
    interrupted: int = 0  # attempts whose connection died after the request was sent
    refused: int = 0  # attempts that found no server (down or restarting)
    unexpected: list[str] = field(default_factory=list)


def _send(client: httpx.Client, url_of, item: Item, deadline: float) -> None:  # noqa: ANN001
    """POST until a 2xx (retrying with the same key after any connection error)."""
    headers = bearer(item.token) | {"Idempotency-Key": item.key}
    while time.monotonic() < deadline:
        try:
            r = client.post(url_of() + "/v1/disputes", json=item.body, headers=headers)
        except httpx.ConnectError:
            item.refused += 1
            time.sleep(random.uniform(0.05, 0.15))
            continue
        except httpx.TransportError:  # sent, then the process died: outcome unknown
            item.interrupted += 1
            time.sleep(random.uniform(0.05, 0.15))
            continue
        if r.status_code in (200, 201):
            item.acks.append((r.status_code, r.json()["dispute_id"]))
            return
        item.unexpected.append(f"{r.status_code} {r.text[:300]}")
        return
    item.unexpected.append("no answer before the deadline")


def kill_marks(total: int, kills: int) -> list[int]:
    """How many disputes the clients have started when each kill comes: one at a random
    point in each of the first `kills` of `kills + 1` equal stretches of the pool, so every
    kill finds traffic and the last stretch runs after the last restart."""
    stretch = total / (kills + 1)
    return [int(stretch * (i + random.uniform(0.2, 0.9))) for i in range(kills)]


def kill_during_startup(server) -> int:  # noqa: ANN001
    """Start the server and SIGKILL it inside its startup (after uvicorn began the app's
    lifespan, before it answers). 1 when the kill landed before ready."""
    log_size = server.log.stat().st_size if server.log.exists() else 0
    failed: list[BaseException] = []

    def start() -> None:
        try:
            server.start()
        except RuntimeError as exc:  # it died: expected
            failed.append(exc)

    starter = threading.Thread(target=start)
    starter.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with server.log.open() as f:
            f.seek(log_size)
            if "Waiting for application startup" in f.read():
                break
        time.sleep(0.02)
    time.sleep(random.uniform(0.0, 2.5))  # loading the model takes about 3 s
    server.kill()
    starter.join(90)
    return len(failed)


def test_disputes_survive_sigkill(make_server, database_url):
    t0 = time.monotonic()
    server = make_server()
    model = support.model_info(server.url)
    pairs = support.high_risk(server.url, CUSTOMERS, seed=101, prefix="crash")
    records = [rec for rec, _ in pairs]
    tokens = {rec["customer_id"]: support.customer_token(server.url, rec["customer_id"])
              for rec in records}
    predictions = [p for _, p in pairs]
    for _ in range(ROUNDS - 1):
        predictions += support.score(server.url, records)
    customer_of = {}
    for rec, p in zip(records * ROUNDS, predictions, strict=True):
        customer_of[p["prediction_id"]] = rec["customer_id"]
    pool: queue.Queue[Item] = queue.Queue()
    random.seed(7)
    random.shuffle(predictions)
    for p in predictions:
        cid = customer_of[p["prediction_id"]]
        pool.put(Item(cid, tokens[cid], support.dispute_body(p, model)))
    seeded = time.monotonic()

    stop = threading.Event()
    started: list[Item] = []
    lock = threading.Lock()
    replays: list[tuple[Item, int, str]] = []

    def worker() -> None:
        with httpx.Client(timeout=15) as client:
            while not stop.is_set():
                try:
                    item = pool.get_nowait()
                except queue.Empty:
                    return
                with lock:
                    started.append(item)
                _send(client, lambda: server.url, item, time.monotonic() + 90)
                # now and then the client sends its acknowledged request once more
                if item.acks and random.random() < 0.2:
                    before = len(item.acks)
                    _send(client, lambda: server.url, item, time.monotonic() + 90)
                    if len(item.acks) > before:
                        replays.append((item, *item.acks[-1]))
                time.sleep(random.uniform(0.0, 0.03))

    other: Counter[str] = Counter()  # the rest of the traffic: scoring and list reads
    other_unexpected: list[str] = []
    rescore = records[:10]

    def background() -> None:
        """Predictions (each a receipt, maybe a task, an audit row) and risk-list reads
        (an audit row each) die with the server too."""
        with httpx.Client(timeout=15) as client:
            while not stop.is_set():
                try:
                    if random.random() < 0.5:
                        r = client.post(server.url + "/v1/predictions", headers=support.ADMIN,
                                        json=random.choice(rescore))
                        ok = 201
                    else:
                        r = client.get(server.url + "/v1/risk-list", headers=support.ADMIN)
                        ok = 200
                except httpx.TransportError as exc:
                    other[type(exc).__name__] += 1
                    time.sleep(0.1)
                    continue
                other[str(r.status_code)] += 1
                if r.status_code != ok:
                    other_unexpected.append(f"{r.status_code} {r.text[:300]}")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
    threads.append(threading.Thread(target=background, daemon=True))
    marks = kill_marks(pool.qsize(), KILLS)
    for t in threads:
        t.start()
    kills, restart_s, startup_kills = 0, [], 0
    for cycle, mark in enumerate(marks):
        # Each kill waits for the clients' progress, not for the clock: a fast machine
        # would otherwise drain the pool before the last kill, a slow one kill an idle
        # server. Where a kill lands inside a request is still left to chance.
        deadline = time.monotonic() + 120
        while True:
            with lock:
                progress = len(started)
            if progress >= mark or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert progress >= mark, f"the clients stalled at {progress} of {mark} disputes"
        time.sleep(random.uniform(0.0, 0.05))
        server.kill()
        kills += 1
        time.sleep(random.uniform(0.0, 0.3))
        if cycle == 0:  # once, kill it again while it starts (migrations, startup audit row)
            startup_kills += kill_during_startup(server)
        t = time.monotonic()
        server.start()
        restart_s.append(time.monotonic() - t)
    time.sleep(0.5)  # some traffic after the last restart
    stop.set()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    traffic_end = time.monotonic()

    # -- what the clients saw ---------------------------------------------------------------
    assert not other_unexpected, other_unexpected[:5]
    unexpected = [(i.key, i.unexpected) for i in started if i.unexpected]
    assert not unexpected, unexpected[:5]
    acked = {i.key: i for i in started if i.acks}
    assert len(acked) == len(started), "a started dispute was never acknowledged"
    for item in acked.values():
        assert len({d for _, d in item.acks}) == 1, ("one key, two disputes", item.acks)
    for item, status, did in replays:
        assert status == 200, "a replay of an acknowledged key must answer 200"
        assert did == item.acks[0][1], "a replay answered another dispute"
    dispute_of = {k: i.acks[0][1] for k, i in acked.items()}
    interrupted = sum(i.interrupted for i in started)
    # an interrupted request whose dispute had been committed is found again by its key
    recovered = sum(1 for i in started if i.interrupted and i.acks[0][0] == 200)

    # -- the server's view ------------------------------------------------------------------
    with httpx.Client(timeout=15) as client:
        for item in acked.values():
            r = client.get(f"{server.url}/v1/disputes/{dispute_of[item.key]}",
                           headers=bearer(item.token))
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "open"
            assert r.json()["prediction_id"] == item.body["prediction_id"]
            me = client.get(f"{server.url}/v1/me", headers=bearer(item.token)).json()
            assert me["restricted"] is True
    verified = support.audit_verify(server.url)
    assert verified["ok"] is True, verified

    # -- the database's view (server stopped: nothing moves) --------------------------------
    server.stop()
    # exactly the acknowledged disputes exist, each dispute and prediction audited once, the
    # chain has no gap, no orphan row, the database's own check passes
    state = support.read_sound_state(database_url, dispute_of.values())
    by_id = {d["id"]: d for d in state.disputes}
    assert len(state.disputes) == len(acked)  # once each
    per_prediction = Counter(d["prediction_id"] for d in state.disputes)
    assert max(per_prediction.values()) == 1
    # each key maps to exactly the dispute its client was told about
    keys = {(k["customer_ref"], k["key"]): k["dispute_id"] for k in state.keys}
    assert len(keys) == len(state.keys) == len(acked)
    assert sorted(k["key"] for k in state.keys) == sorted(acked)
    for k in state.keys:
        assert k["dispute_id"] == dispute_of[k["key"]]
        assert by_id[k["dispute_id"]]["customer_ref"] == k["customer_ref"]
    # nothing half-written: restricted, no open task
    disputed_refs = {d["customer_ref"] for d in state.disputes}
    assert all(state.customers[ref]["restricted"] for ref in disputed_refs)
    assert not [t for t in state.open_tasks if t["customer_ref"] in disputed_refs]
    # every cancellation names a dispute that exists (none from a rolled-back request)
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        notes = conn.execute(sa.text("SELECT customer_ref, note FROM retention_tasks "
                                     "WHERE status = 'cancelled'")).all()
    engine.dispose()
    assert notes, "no retention task was cancelled"
    for ref, note in notes:
        named = re.search(r"\(dispute ([0-9a-f-]{36})\)", note or "")
        assert named and by_id[named.group(1)]["customer_ref"] == ref, note

    print(f"\n[crash-safety {database_url.split(':')[0]}] disputes acknowledged={len(acked)} "
          f"(replays checked={len(replays)}) kills={kills} restarts={len(restart_s)} "
          f"kills during startup={startup_kills} requests cut mid-flight={interrupted} "
          f"(of which committed and found again by key={recovered}) "
          f"refused while down={sum(i.refused for i in started)} "
          f"other traffic={dict(other)} audit rows={state.head_seq} restart median="
          f"{sorted(restart_s)[len(restart_s) // 2] if restart_s else 0:.1f}s "
          f"seed={seeded - t0:.1f}s traffic={traffic_end - seeded:.1f}s")
    assert kills == KILLS
    assert interrupted >= 1, "no kill landed on a request in flight"
