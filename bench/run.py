"""`make bench`: speed measured side by side, written to bench/results.json.

1. Online scoring: `mlflow models serve` (bare score), a minimal reference server
   (bench/ceiling.py: the same booster, score + exact SHAP, nothing else, the same uvicorn
   settings) and our POST /v1/predictions (auth, validation, score + exact SHAP + reasons,
   routing, durable write, audit), same wrk load, interleaved rounds.
2. Batch scoring: `serving.cli score` (read → score → SHAP → reasons → write) vs LightGBM's
   raw `predict(pred_contrib=True)` on the same rows already in memory, at 100k and 1M rows,
   with peak memory; plus the Dask path with 1 and 2 local workers.
3. Training time of `make train` on Telco and on 100,000 synthetic rows.

Everything runs on this machine against loopback only; every load is bounded in time.
Generated files go to bench/out/ (git-ignored). `--quick` shortens every phase.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
TELCO_CSV = REPO.parent / "shared" / "data" / "telco" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
TELCO_SCHEMA = REPO / "training" / "datasets" / "telco.yaml"
SYNTH_SCHEMA = REPO / "training" / "datasets" / "synthetic.yaml"
PY = sys.executable
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"


def env(**extra: str) -> dict[str, str]:
    base = dict(os.environ)
    base.update(
        {
            "MLFLOW_TRACKING_URI": f"sqlite:///{OUT}/mlflow.db",
            "CHURN_ARTIFACT_ROOT": str(OUT / "mlartifacts"),
            "CHURN_REPORTS_DIR": str(OUT / "reports"),
            "CHURN_ADMIN_TOKEN": ADMIN_TOKEN,
            "PYTHONUNBUFFERED": "1",
            # mlflow models serve execs `uvicorn` from PATH
            "PATH": f"{Path(PY).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    base.update(extra)
    return base


def peak_rss_of(cmd: list[str], **extra: str) -> tuple[float, float, str]:
    """Run `cmd` in a fresh process and read its own peak RSS (MiB) from wait4."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env(**extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out_chunks, err_chunks = [], []
    import threading

    def pump(stream, sink):
        for line in stream:
            sink.append(line)

    threads = [
        threading.Thread(target=pump, args=(proc.stdout, out_chunks)),
        threading.Thread(target=pump, args=(proc.stderr, err_chunks)),
    ]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    for t in threads:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n" + "".join(err_chunks)[-3000:]
        )
    return seconds, usage.ru_maxrss / 1024, "".join(out_chunks)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up within {seconds} s")


class Server:
    """A server process started for the benchmark and always stopped after it."""

    def __init__(self, cmd: list[str], health: str, log: Path, **extra: str):
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env(**extra),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_http(health, self.proc)
        except Exception:
            self.stop()
            raise

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's processes (its session:
        `mlflow models serve` runs uvicorn in a child). Per request, it is much less
        sensitive than req/s to other work on a shared machine."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # after the command: state ppid pgrp session ... utime (12th) stime (13th)
            if int(fields[3]) == self.proc.pid:
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)", text)
    assert m, text
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, bodies: Path, seconds: int, connections: int, token: str = "") -> dict:
    if not bodies.is_file():  # wrk would fall back to GET without a word
        raise FileNotFoundError(bodies)
    cmd = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(REPO / "bench" / "wrk_post.lua"),
        url,
    ]
    out = subprocess.run(
        cmd,
        env={**os.environ, "BODIES": str(bodies), "TOKEN": token},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "requests": total,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


def median_of(rounds: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


# -- phases ------------------------------------------------------------------------------------
def train_models(results: dict, quick: bool) -> None:
    print("== training time", flush=True)
    seconds, _, out = peak_rss_of(
        [PY, "-m", "training.cli", "train", "--data", str(TELCO_CSV), "--schema", str(TELCO_SCHEMA)]
    )
    promote, _, _ = peak_rss_of([PY, "-m", "training.cli", "promote"])
    summary = json.loads((OUT / "reports" / "last_run.json").read_text())
    results["training"] = {
        "telco": {
            "rows": summary["rows"],
            "seconds": round(seconds, 1),
            "promote_seconds": round(promote, 1),
            "roc_auc": summary["metrics"]["roc_auc"],
            "selected_features": summary["selected_features"],
            "model_version": summary["model_version"],
        },
    }
    rows = 20_000 if quick else 100_000
    seconds, _, _ = peak_rss_of(
        [PY, "-m", "training.cli", "train"],
        CHURN_SYNTHETIC_ROWS=str(rows),
        CHURN_MODEL_NAME="churn-synthetic",
    )
    summary = json.loads((OUT / "reports" / "last_run.json").read_text())
    results["training"][f"synthetic_{rows}"] = {
        "rows": rows,
        "seconds": round(seconds, 1),
        "roc_auc": summary["metrics"]["roc_auc"],
        "selected_features": summary["selected_features"],
    }
    (OUT / "training.json").write_text(json.dumps(results["training"], indent=2))
    print(json.dumps(results["training"], indent=1), flush=True)


# The online sides, in the order of the first round (later rounds rotate it).
SIDES = ("mlflow_models_serve", "ceiling", "ours")
ONLINE_TARGETS = {"ours_over_mlflow": 3.0, "ours_over_ceiling": 0.5, "ours_p99_ms": 50.0}


def _agent_token(db: Path) -> str:
    """A staff token of role agent, the role POST /v1/predictions is for (the bootstrap
    admin token skips the staff-token lookup every real caller goes through)."""
    out = subprocess.run(
        [PY, "-m", "serving.cli", "create-user", "--role", "agent", "--name", "bench agent"],
        cwd=REPO, env=env(CHURN_DATABASE_URL=f"sqlite:///{db}"), capture_output=True,
        text=True, check=True, timeout=120,
    ).stdout
    return out.strip().splitlines()[-1]


def write_bodies(features: list[str]) -> tuple[Path, Path]:
    """One request body per line for 2,000 real Telco customers: MLflow's, then ours (the
    ceiling takes ours)."""
    import pandas as pd

    frame = pd.read_csv(TELCO_CSV, dtype=str, keep_default_na=False)
    bodies_mlflow, bodies_ours = OUT / "bodies_mlflow.jsonl", OUT / "bodies_ours.jsonl"
    numeric = {"tenure", "MonthlyCharges", "TotalCharges"}

    def value(col: str, raw: str):
        if col in numeric:
            return float(raw) if raw.strip() else None
        return raw

    with bodies_mlflow.open("w") as fm, bodies_ours.open("w") as fo:
        for _, row in frame.head(2000).iterrows():
            record = {c: value(c, row[c]) for c in features}
            fm.write(json.dumps({"dataframe_records": [record]}) + "\n")
            fo.write(json.dumps({"customer_id": row["customerID"], "features": record}) + "\n")
    return bodies_mlflow, bodies_ours


def online(results: dict, quick: bool, sides: tuple[str, ...] = SIDES) -> None:
    """The online sides in interleaved rounds. With fewer `sides` than all (`--sides`, to
    try a change quickly) the figures are printed and nothing is compared or written."""
    print("== online scoring: " + " vs ".join(sides), flush=True)
    summary = results["training"]["telco"]
    features = summary["selected_features"]
    bodies_mlflow, bodies_ours = write_bodies(features)

    seconds = 4 if quick else 10
    rounds = 2 if quick else 3
    connections = 8
    ports = {name: free_port() for name in SIDES}
    db = OUT / "online.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    token = _agent_token(db)
    commands = {
        "mlflow_models_serve": (
            [str(Path(PY).parent / "mlflow"), "models", "serve", "-m", "models:/churn@champion",
             "--env-manager", "local", "--host", "127.0.0.1", "--port",
             str(ports["mlflow_models_serve"])],
            "/ping", {},
        ),
        # the same body as ours, the same uvicorn settings (serving.cli.UVICORN)
        "ceiling": ([PY, "-m", "bench.ceiling", "--port", str(ports["ceiling"])], "/", {}),
        "ours": (
            [PY, "-m", "serving.cli", "serve"], "/healthz",
            {"CHURN_PORT": str(ports["ours"]), "CHURN_DATABASE_URL": f"sqlite:///{db}"},
        ),
    }
    targets = {
        "mlflow_models_serve": (f"http://127.0.0.1:{ports['mlflow_models_serve']}/invocations",
                                bodies_mlflow, ""),
        "ceiling": (f"http://127.0.0.1:{ports['ceiling']}/v1/predictions", bodies_ours, ""),
        "ours": (f"http://127.0.0.1:{ports['ours']}/v1/predictions", bodies_ours, token),
    }
    servers: dict[str, Server] = {}
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    try:
        for name in sides:
            cmd, health, extra = commands[name]
            servers[name] = Server(cmd, f"http://127.0.0.1:{ports[name]}{health}",
                                   OUT / f"{name}_serve.log", **extra)
        for name in sides:  # warm-up
            url, bodies, tok = targets[name]
            wrk(url, bodies, 2, connections, tok)
        for r in range(rounds):
            order = sides[r % len(sides):] + sides[: r % len(sides)]
            for name in order:
                url, bodies, tok = targets[name]
                load = os.getloadavg()[0]
                cpu = servers[name].cpu_seconds()
                run = wrk(url, bodies, seconds, connections, tok)
                cpu = servers[name].cpu_seconds() - cpu
                run["server_cpu_ms_per_request"] = round(1e3 * cpu / max(run["requests"], 1), 3)
                # the machine is shared: its 1-minute load average before and after the
                # round says how busy it was (2 cores; wrk and the server alone make ~2)
                run["load_average_1m"] = [round(load, 2), round(os.getloadavg()[0], 2)]
                runs[name].append(run)
            print(f"  round {r + 1}: " + ", ".join(
                f"{name} {runs[name][-1]['rps']:.0f} req/s "
                f"(p99 {runs[name][-1]['p99_ms']:.1f} ms, server CPU "
                f"{runs[name][-1]['server_cpu_ms_per_request']:.2f} ms/req)"
                for name in sides) + f"; load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        for server in servers.values():
            server.stop()
    side = {}
    for name, rr in runs.items():
        side[name] = {
            "rps_median": median_of(rr, "rps"),
            "p50_ms_median": median_of(rr, "p50_ms"),
            "p99_ms_median": median_of(rr, "p99_ms"),
            "server_cpu_ms_per_request_median": median_of(rr, "server_cpu_ms_per_request"),
            "non_2xx_total": sum(r["non_2xx"] for r in rr),
            "rounds": rr,
        }
    if tuple(sides) != SIDES:
        results["online_sides"] = side
        return

    def per_round(other: str) -> list[float]:
        return [round(o["rps"] / m["rps"], 3) for o, m in zip(runs["ours"], runs[other],
                                                              strict=True)]

    results["online"] = {
        "load": f"wrk -t2 -c{connections}, {seconds} s per round, {rounds} interleaved rounds "
        "(side order rotated each round)",
        "model": f"churn v{summary['model_version']} (Telco, {len(features)} features)",
        "features": features,
        "ours_auth": "a staff token of role agent (looked up like any caller's, then "
                     "remembered and confirmed by each prediction's write transaction)",
        "ceiling_server": "bench/ceiling.py: same booster, one numpy row, "
        "predict(pred_contrib=True), no auth, no validation beyond types, no write; same "
        "uvicorn settings as ours",
        "ours_path": "POST /v1/predictions: staff token checked, body and features "
        "validated, score + exact TreeSHAP (by table, models/treeshap.py) + reasons, "
        "routing, receipt + risk-list entry + task + audit hash chain committed durably "
        "(SQLite WAL, synchronous=FULL, group commit by the writer process) before the "
        "answer",
        **side,
        "throughput_ratio_ours_over_mlflow": side["ours"]["rps_median"]
        / side["mlflow_models_serve"]["rps_median"],
        "throughput_ratio_ours_over_ceiling": side["ours"]["rps_median"]
        / side["ceiling"]["rps_median"],
        "per_round_ratio_ours_over_mlflow": per_round("mlflow_models_serve"),
        "per_round_ratio_ours_over_ceiling": per_round("ceiling"),
        # CPU per request: the ratio the machine's other load disturbs least
        "cpu_per_request_ratio_ceiling_over_ours": side["ceiling"][
            "server_cpu_ms_per_request_median"] / side["ours"]["server_cpu_ms_per_request_median"],
        "cpu_per_request_ratio_mlflow_over_ours": side["mlflow_models_serve"][
            "server_cpu_ms_per_request_median"] / side["ours"]["server_cpu_ms_per_request_median"],
        "targets": ONLINE_TARGETS,
    }


RAW_SCRIPT = """
import json, sys, time
import mlflow, numpy as np, pandas as pd
model = mlflow.pyfunc.load_model("models:/churn@champion").unwrap_python_model()
frame = pd.read_parquet(sys.argv[1], columns=model.feature_names)
X = np.ascontiguousarray(model.encoder.encode_frame(frame))
del frame
t = time.perf_counter()
model.booster.predict(X, pred_contrib=True)
print(json.dumps({"rows": len(X), "seconds": time.perf_counter() - t}))
"""


# name: (command flags, environment); the default explains each distinct row once, the
# "every row" variant sends every row through TreeSHAP like the raw figure does
VARIANTS: dict[str, tuple[list[str], dict[str, str]]] = {
    "single_process": (["--single-process"], {}),
    "single_process_every_row": (["--single-process"], {"CHURN_BATCH_MEMO_ROWS": "0"}),
    # the chunks prepared in a child process whatever the size (by default from 200,000
    # rows: below, the child's start-up costs more than its faster pass saves)
    "single_process_child": (["--single-process"], {"CHURN_BATCH_MEMO_ROWS": "0",
                                                    "CHURN_BATCH_PROCESS_ROWS": "0"}),
    "dask_1_worker": (["--workers", "1"], {}),
    "dask_2_workers": (["--workers", "2"], {}),
}


def batch(results: dict, quick: bool) -> None:
    print("== batch scoring vs raw TreeSHAP", flush=True)
    sizes = [20_000, 100_000] if quick else [100_000, 1_000_000]
    out: dict[str, Any] = {}
    for rows in sizes:
        data = OUT / f"base_{rows}.parquet"
        if not data.exists():
            peak_rss_of(
                [
                    PY,
                    "-m",
                    "training.cli",
                    "generate",
                    "--rows",
                    str(rows),
                    "--seed",
                    "1",
                    "--out",
                    str(data),
                ]
            )
        rounds = 2 if rows >= 1_000_000 or quick else 3
        runs: dict[str, list[dict]] = {name: [] for name in [*VARIANTS, "raw"]}
        for _ in range(rounds):
            for name, (flags, variant_env) in VARIANTS.items():
                db = OUT / f"batch_{rows}.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
                wall, peak, stdout = peak_rss_of(
                    [
                        PY,
                        "-m",
                        "serving.cli",
                        "score",
                        "--data",
                        str(data),
                        "--schema",
                        str(SYNTH_SCHEMA),
                        *flags,
                    ],
                    CHURN_DATABASE_URL=f"sqlite:///{db}",
                    **variant_env,
                )
                # the report is the first JSON document; `score` prints the nightly
                # housekeeping it ran (purge, rights due) after it
                report, _ = json.JSONDecoder().raw_decode(stdout, stdout.index("{"))
                runs[name].append(
                    {
                        # the scoring pass: read, score, explain, write, to the last commit
                        "rows_per_second": report["rows_per_second"],
                        # the whole command, model loading and Dask start-up included
                        "end_to_end_rows_per_second": report["scored"] / report["seconds"],
                        "seconds": report["seconds"],
                        "setup_seconds": report["setup_seconds"],
                        "teardown_seconds": report["teardown_seconds"],
                        "wall_seconds": round(wall, 2),
                        "peak_rss_mib": round(peak, 1),
                        "worker_peak_rss_mib": report.get("worker_peak_rss_mib"),
                        "scored": report["scored"],
                        "treeshap_rows": report.get("treeshap_rows"),
                    }
                )
            _, peak_raw, stdout = peak_rss_of([PY, "-c", RAW_SCRIPT, str(data)])
            raw = json.loads(stdout.strip().splitlines()[-1])
            runs["raw"].append(
                {
                    "rows_per_second": raw["rows"] / raw["seconds"],
                    "seconds": raw["seconds"],
                    "peak_rss_mib": round(peak_raw, 1),
                }
            )
            print(
                f"  {rows}: "
                + ", ".join(f"{n} {r[-1]['rows_per_second']:.0f} rows/s" for n, r in runs.items()),
                flush=True,
            )
        raw_med = median_of(runs["raw"], "rows_per_second")
        entry: dict[str, Any] = {
            "raw_pred_contrib_rows_per_second_median": raw_med,
            "raw_peak_rss_mib_median": median_of(runs["raw"], "peak_rss_mib"),
        }
        for name in VARIANTS:
            med = median_of(runs[name], "rows_per_second")
            e2e = median_of(runs[name], "end_to_end_rows_per_second")
            workers = [r["worker_peak_rss_mib"] for r in runs[name] if r["worker_peak_rss_mib"]]
            entry[name] = {
                "rows_per_second_median": med,
                "ratio_over_raw": med / raw_med,
                "end_to_end_rows_per_second_median": e2e,
                "end_to_end_ratio_over_raw": e2e / raw_med,
                "setup_seconds_median": median_of(runs[name], "setup_seconds"),
                "peak_rss_mib_median": median_of(runs[name], "peak_rss_mib"),
                "worker_peak_rss_mib_median": statistics.median(workers) if workers else None,
                "treeshap_rows": runs[name][-1]["treeshap_rows"],
            }
        entry["rounds"] = runs
        out[str(rows)] = entry
    results["batch"] = {
        "target_ratio": 0.85,  # issue 12: every row through TreeSHAP
        "rows_per_second": "the scoring pass (read, score, explain, write), from the model "
        "loaded to the last commit; end_to_end_* counts the whole command",
        "model": "churn@champion (Telco)",
        "storage": "SQLite (WAL, synchronous=FULL)",
        "sizes": out,
    }


def table(results: dict) -> str:
    lines = []
    if "training" in results:
        lines.append("Training time (make train, wall clock)")
        for name, t in results["training"].items():
            lines.append(
                f"  {name:<22} {t['rows']:>9} rows  {t['seconds']:>7.1f} s  "
                f"ROC-AUC {t['roc_auc']:.4f}"
            )
    if "online" in results:
        o = results["online"]
        lines.append(f"Online scoring ({o['load']})")
        for name in ("mlflow_models_serve", "ceiling", "ours"):
            s = o.get(name)
            if s is None:  # results written before the ceiling side existed
                continue
            lines.append(
                f"  {name:<22} {s['rps_median']:>9.0f} req/s  "
                f"p50 {s['p50_ms_median']:6.2f} ms"
                f"  p99 {s['p99_ms_median']:7.2f} ms  non-2xx {s['non_2xx_total']}"
                + (f"  server CPU {s['server_cpu_ms_per_request_median']:.2f} ms/req"
                   if "server_cpu_ms_per_request_median" in s else "")
            )
        targets = o.get("targets", {})
        lines.append(
            f"  ratio ours/mlflow       {o['throughput_ratio_ours_over_mlflow']:.2f}x "
            f"(target {targets.get('ours_over_mlflow', o.get('target_ratio'))}x)"
        )
        if "throughput_ratio_ours_over_ceiling" in o:
            lines.append(
                f"  ratio ours/ceiling      {o['throughput_ratio_ours_over_ceiling']:.2f}x "
                f"(target {targets.get('ours_over_ceiling')}x); ours p99 "
                f"{o['ours']['p99_ms_median']:.1f} ms (target {targets.get('ours_p99_ms')} ms)"
            )
        if "cpu_per_request_ratio_ceiling_over_ours" in o:
            over_ceiling = 1 / o["cpu_per_request_ratio_ceiling_over_ours"]
            over_mlflow = 1 / o["cpu_per_request_ratio_mlflow_over_ours"]
            lines.append(f"  server CPU per request  ours = {over_ceiling:.1f}x the ceiling's, "
                         f"{over_mlflow:.2f}x mlflow's")
    if "batch" in results:
        lines.append("Batch scoring vs raw pred_contrib (rows/s, medians; peak RSS)")
        for rows, b in results["batch"]["sizes"].items():
            lines.append(
                f"  {int(rows):>9} rows  raw {b['raw_pred_contrib_rows_per_second_median']:>8.0f}"
            )
            for name in VARIANTS:
                v = b[name]
                workers = v.get("worker_peak_rss_mib_median")
                lines.append(
                    f"  {'':>9}       {name:<24} {v['rows_per_second_median']:>8.0f}  "
                    f"ratio {v['ratio_over_raw']:.2f}x  (end to end "
                    f"{v['end_to_end_rows_per_second_median']:.0f}, "
                    f"{v['end_to_end_ratio_over_raw']:.2f}x)  "
                    f"peak {v['peak_rss_mib_median']:.0f} MiB"
                    + (f", workers {workers:.0f} MiB" if workers else "")
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short rounds, smaller data")
    parser.add_argument("--only", choices=["training", "online", "batch"], action="append")
    parser.add_argument("--sides", help="online sides to run, comma-separated (default: "
                        f"{','.join(SIDES)}); with fewer, nothing is written")
    args = parser.parse_args(argv)
    phases = args.only or ["training", "online", "batch"]
    if "online" in phases and shutil.which("wrk") is None:
        print("wrk is needed for the online benchmark: apt-get install wrk (or --only "
              "training --only batch)", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": args.quick,
    }
    if "training" in phases or not (OUT / "training.json").exists():
        for stale in ("mlflow.db", "mlartifacts", "reports"):
            path = OUT / stale
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(
                missing_ok=True
            )
        train_models(results, args.quick)
    else:
        results["training"] = json.loads((OUT / "training.json").read_text())
    sides = tuple(args.sides.split(",")) if args.sides else SIDES
    if set(sides) - set(SIDES):
        parser.error(f"--sides takes some of {', '.join(SIDES)}")
    if "online" in phases:
        online(results, args.quick, sides)
        if sides != SIDES:
            for name, s in results["online_sides"].items():
                print(f"  {name:<22} {s['rps_median']:>7.0f} req/s  p99 "
                      f"{s['p99_ms_median']:7.2f} ms  server CPU "
                      f"{s['server_cpu_ms_per_request_median']:.3f} ms/req")
            return 0
    if "batch" in phases:
        batch(results, args.quick)
    target = REPO / "bench" / "results.json"
    if target.exists() and args.only:
        merged = json.loads(target.read_text())
        if "training" not in phases:  # read back for the online side, not measured now
            results.pop("training", None)
        merged.update(results)
        results = merged
    target.write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
