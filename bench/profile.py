"""Where the time of one POST /v1/predictions goes: the real app, driven in-process.

The app (`serving.main.create_app`, every middleware, the real SQLite database with its
durable commits) is called as an ASGI application, one request after another, with the
same bodies `make bench` sends (real Telco customers, or any JSONL of request bodies).
The thread-pool hops (sync dependencies) run inline here. The durable write runs where the
app's settings put it: by default in the writer process (its CPU is not this process's, and
its stages show zero), with CHURN_WRITER=thread on the group-commit writer thread, so CPU is
the process's (each stage's CPU is that of the thread it ran on); the figures are CPU and
wall time per request at one request in flight, not throughput. With --concurrency N, N
requests are in flight through the real thread pool (group commits share a transaction):
process CPU per request, and how many requests each commit carried.

    python -m bench.profile --bodies bench/out/bodies_ours.jsonl --requests 2000
    CHURN_WRITER=thread python -m bench.profile ... --stages   # + where the time goes
    python -m bench.profile ... --cprofile bench/out/predictions.prof   # + cProfile

It prints the wall and CPU time per request (and the CPU of the event loop's thread alone,
the server's bottleneck), then the time of each stage (auth, validation, encoding,
TreeSHAP, reasons, the write, the audit chain, serialisation, the rest: HTTP, routing,
dependencies, middleware): with --stages from timers wrapped around
each stage's functions (wall and CPU, hardly any overhead), with --cprofile from the
profile's cumulative times (cProfile inflates Python-heavy code several times over).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

ADMIN_TOKEN = "profile-admin-token-0123456789abcdef"

# stage -> the functions (module, attribute) whose time is the stage's
STAGES: dict[str, list[tuple[str, str]]] = {
    "auth (token lookup)": [("serving.auth.deps", "authenticate")],
    "body validation (pydantic, FastAPI)": [("fastapi.dependencies.utils",
                                             "request_body_to_args"),
                                            ("serving.scoring.fastpath", "parse")],
    "feature checks (encoder.problems)": [("models.encoding", "Encoder.problems")],
    "encoding (numpy row)": [("models.encoding", "Encoder.encode_records")],
    "TreeSHAP + calibration": [("models.churn_model",
                                                        "ChurnModel.explain")],
    "receipt values JSON": [("serving.scoring.service", "decoded_json")],
    "reason texts": [("serving.scoring.service", "contribution_rows")],
    "pseudonym (HMAC)": [("models.pseudonym", "Pseudonymiser.__call__")],
    "durable write (group commit)": [("serving.storage.group", "GroupCommit._run")],
    "  of which the session's connection": [("serving.storage.bulk", "RawWriter.__init__")],
    "  of which who may be scored (one read)": [
        ("serving.storage.receipts", "Receipts.standing")],
    "  of which the control arm": [("serving.loop.control", "assign")],
    "  of which the risk-list entry": [("serving.storage.receipts", "Receipts.move_latest")],
    "  of which the receipt insert": [("serving.storage.receipts", "Receipts.insert")],
    "  of which the task": [("serving.storage.receipts", "Receipts.open_tasks"),
                            ("serving.storage.receipts", "Receipts.open_task_ids")],
    "  of which audit hash chain": [("serving.audit.service", "append_many")],
    "  of which COMMIT (fsync)": [("sqlalchemy.orm.session", "Session.commit")],
    "response serialisation": [("fastapi.routing", "serialize_response"),
                               ("starlette.responses", "JSONResponse.render"),
                               ("serving.scoring.router", "PredictionResponse.render")],
}
REST = "the rest (HTTP, routing, dependencies, middleware)"


class Timers:
    """Wall and CPU time of each stage, from wrappers around its functions (a few
    timer reads per call: the request is not slowed measurably). A stage runs on one
    thread (the loop's, or the group-commit writer's for the write), so that thread's CPU
    time is the stage's."""

    def __init__(self) -> None:
        self.wall = dict.fromkeys(STAGES, 0.0)
        self.cpu = dict.fromkeys(STAGES, 0.0)
        self._depth = dict.fromkeys(STAGES, 0)

    def install(self) -> None:
        import importlib
        import inspect

        for stage, targets in STAGES.items():
            for module_name, attr in targets:
                owner: Any = importlib.import_module(module_name)
                *path, name = attr.split(".")
                for part in path:
                    owner = getattr(owner, part)
                original = owner.__dict__[name] if isinstance(owner, type) else getattr(
                    owner, name)
                wrap = (self._async if inspect.iscoroutinefunction(original)
                        else self._sync)(stage, original)
                setattr(owner, name, wrap)

    def _enter(self, stage: str) -> tuple[float, float] | None:
        self._depth[stage] += 1
        if self._depth[stage] > 1:
            return None
        return time.perf_counter(), time.thread_time()

    def _leave(self, stage: str, started: tuple[float, float] | None) -> None:
        self._depth[stage] -= 1
        if started is not None:
            self.wall[stage] += time.perf_counter() - started[0]
            self.cpu[stage] += time.thread_time() - started[1]

    def _sync(self, stage: str, func: Any) -> Any:
        import functools

        @functools.wraps(func)
        def timed(*args: Any, **kw: Any) -> Any:
            started = self._enter(stage)
            try:
                return func(*args, **kw)
            finally:
                self._leave(stage, started)

        return timed

    def _async(self, stage: str, func: Any) -> Any:
        import functools

        @functools.wraps(func)
        async def timed(*args: Any, **kw: Any) -> Any:
            started = self._enter(stage)
            try:
                return await func(*args, **kw)
            finally:
                self._leave(stage, started)

        return timed

    def report(self, n: int, wall: float, cpu: float) -> dict[str, dict[str, float]]:
        """ms per request per stage, and the rest (what no stage covers)."""
        outer = [s for s in STAGES if not s.startswith(" ")]
        out = {s: {"wall_ms": round(1e3 * self.wall[s] / n, 3),
                   "cpu_ms": round(1e3 * self.cpu[s] / n, 3)} for s in STAGES}
        out[REST] = {"wall_ms": round(1e3 * (wall - sum(self.wall[s] for s in outer)) / n, 3),
                     "cpu_ms": round(1e3 * (cpu - sum(self.cpu[s] for s in outer)) / n, 3)}
        return out


def _stage_times(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds per stage from a cProfile dump."""
    raw = stats.stats  # type: ignore[attr-defined]
    out = {}
    for stage, targets in STAGES.items():
        total = 0.0
        for (path, _line, func), (_cc, _nc, _tt, ct, _callers) in raw.items():
            for module_name, attr in targets:
                suffix = module_name.replace(".", "/") + ".py"
                if func == attr.split(".")[-1] and path.endswith(suffix):
                    total += ct
        out[stage] = total
    return out


def _bodies(path: Path | None, host: Any, n: int) -> list[bytes]:
    if path is not None:
        lines = [line.encode() for line in path.read_text().splitlines() if line.strip()]
    else:
        from training.synthetic import generate

        names = host.current().model.feature_names
        frame = generate(2000, seed=3)
        lines = []
        for r in frame.to_dict(orient="records"):
            features = {k: (None if isinstance(r[k], float) and r[k] != r[k] else
                            (r[k].item() if hasattr(r[k], "item") else r[k])) for k in names}
            lines.append(json.dumps({"customer_id": str(r["customer_id"]),
                                     "features": features}).encode())
    return [lines[i % len(lines)] for i in range(n)]


async def _call(app: Any, body: bytes, token: str) -> tuple[int, bytes]:
    """One POST /v1/predictions through the ASGI app."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/predictions", "raw_path": b"/v1/predictions",
        "root_path": "", "query_string": b"", "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"authorization", f"Bearer {token}".encode())],
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def _inline_threads() -> None:
    """Run the thread-pool hops inline, so one profiler sees the whole request."""
    import anyio.to_thread

    async def run_sync(func, *args, **_kw):  # noqa: ANN001, ANN202
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


async def _drive(args: argparse.Namespace) -> dict[str, Any]:
    from serving.config import Settings
    from serving.main import create_app
    from serving.modelhost import ModelHost
    from serving.staff import service as staff
    from serving.storage import Database, upgrade

    work = Path(tempfile.mkdtemp(prefix="churn-profile-"))
    url = f"sqlite:///{args.db or work / 'profile.db'}"
    settings = Settings(database_url=url, admin_token=ADMIN_TOKEN, delivery_worker=False,
                        model_uri=args.model)
    db = Database(url)
    upgrade(db.engine)
    with db.session() as session:
        token = staff.create(session, "profile agent", "agent", "cli:profile").token
    db.dispose()
    host = ModelHost(settings)
    host.load()
    # as `serve` runs it: the heap frozen after start-up, threads switching every 0.5 ms
    app = create_app(settings, host=host, server=True)
    from serving.system.tuning import threads_switch_often

    threads_switch_often()
    bodies = _bodies(args.bodies, host, args.requests + args.warmup)
    timers = None
    if args.stages:
        timers = Timers()
        timers.install()
    async with app.router.lifespan_context(app):
        for body in bodies[: args.warmup]:
            status, out = await _call(app, body, token)
            if status != 201:
                raise SystemExit(f"warm-up request answered {status}: {out[:500]!r}")
        profiler = None
        if args.cprofile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        if timers is not None:
            timers.__init__()  # the warm-up does not count
        # the process's CPU: the durable write runs on the group-commit writer thread
        clock = time.process_time
        wall, cpu, loop_cpu = time.perf_counter(), clock(), time.thread_time()
        todo = iter(bodies[args.warmup:])

        async def worker() -> None:
            for body in todo:
                status, out = await _call(app, body, token)
                if status != 201:
                    raise SystemExit(f"request answered {status}: {out[:500]!r}")

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        wall, cpu = time.perf_counter() - wall, clock() - cpu
        loop_cpu = time.thread_time() - loop_cpu  # the event loop's thread alone
        writer = app.state.score_writer
        if profiler is not None:
            profiler.disable()
    n = args.requests
    result: dict[str, Any] = {"requests": n, "wall_ms_per_request": round(1e3 * wall / n, 3),
                              "cpu_ms_per_request": round(1e3 * cpu / n, 3),
                              "loop_thread_cpu_ms_per_request": round(1e3 * loop_cpu / n, 3),
                              "profiled": bool(profiler), "in_flight": args.concurrency,
                              "jobs_per_commit": round(writer.jobs / max(writer.groups, 1), 2)}
    if timers is not None:
        result["stages_per_request"] = timers.report(n, wall, cpu)
    if profiler is not None:
        profiler.dump_stats(args.cprofile)
        stats = pstats.Stats(str(args.cprofile))
        result["stages_ms_per_request (profiled)"] = {
            k: round(1e3 * v / n, 3) for k, v in _stage_times(stats).items()}
        if args.top:
            stats.sort_stats("cumulative").print_stats(args.top)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models:/churn@champion")
    parser.add_argument("--bodies", type=Path, help="JSONL of request bodies "
                        "(default: synthetic customers in the model's features)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight "
                        "(above 1: the real thread pool and group commit; CPU is the "
                        "process's)")
    parser.add_argument("--db", type=Path, help="SQLite file (default: a new temporary one)")
    parser.add_argument("--cprofile", type=Path, help="write a cProfile dump here and "
                        "print the time per stage")
    parser.add_argument("--stages", action="store_true", help="time each stage (wall "
                        "and CPU per request)")
    parser.add_argument("--top", type=int, default=0, help="print the N slowest "
                        "functions by cumulative time")
    args = parser.parse_args(argv)
    os.environ.setdefault("CHURN_ADMIN_TOKEN", ADMIN_TOKEN)
    if args.concurrency == 1:
        _inline_threads()
    elif args.stages or args.cprofile:
        parser.error("--stages and --cprofile time one request at a time (no --concurrency)")
    print(json.dumps(asyncio.run(_drive(args)), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
