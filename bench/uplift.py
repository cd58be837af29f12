"""What uplift targeting costs (issue 17): milliseconds per row of applying the uplift rule
(`serving.loop.targeting.target` with an uplift model) online and in the batch, against
risk targeting on the same rows. Prints JSON; nothing is written to bench/results.json.

    python -m bench.uplift [--rows 20000] [--requests 300]

A small churn model and an uplift model (T-learner on the simulated world's randomised
customers) are trained in a temporary MLflow store. Online: `POST /v1/predictions` through
the app in-process (TestClient, SQLite), one record per request, each rule on its own
app; the median latency of each and the difference. The estimate alone (`targeting.
estimate`, what uplift adds before the write) is timed on 1 and on 100 rows. Batch:
`serving.batch.score_file` of the same synthetic base under each rule, each into a fresh
SQLite database, three times each (the fastest counts: the machine is shared); the
difference in seconds per scored row (and per row drawn into an arm, the only rows the
uplift model reads).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "training" / "datasets" / "synthetic.yaml"
ADMIN = "bench-admin-token-0123456789"


def _randomised(n: int, seed: int):  # noqa: ANN202
    """The simulated world's customers, half assigned to contact, labelled by the world."""
    from simulation.world import World, WorldConfig

    world = World(WorldConfig(customers=n, seed=seed, drift_period=None))
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.5, "contact", "control")
    reached = (arm == "contact") & (rng.random(n) < world.config.reach)
    p = world.probabilities(reached)
    table = world.scoring_frame().drop(columns=["gender", "SeniorCitizen", "Partner",
                                                "Dependents"])
    table = table.rename(columns={"customer_id": "customer_ref"})
    table["arm"] = arm
    table["label"] = (rng.random(n) < p).astype(int)
    return table


def _models(tmp: Path) -> tuple[str, str]:
    from training.config import TrainSettings
    from training.pipeline import train
    from training.registry import promote
    from training.uplift import train_uplift

    settings = TrainSettings(tracking_uri=f"sqlite:///{tmp}/mlflow.db", artifact_root=tmp / "art",
                             reports_dir=tmp / "rep", synthetic_rows=3000, minimise=False,
                             n_estimators=100, cv_folds=2, uplift_bootstrap=20)
    train(settings)
    assert promote(settings).promoted
    version = train_uplift(settings, _randomised(12_000, seed=3)).model_version
    return settings.tracking_uri, str(version)


def _settings(tracking_uri: str, version: str, rule: str, db: Path):  # noqa: ANN202
    from serving.config import Settings

    return Settings(tracking_uri=tracking_uri, model_uri="models:/churn@champion",
                    database_url=f"sqlite:///{db}", admin_token=ADMIN, delivery_worker=False,
                    targeting=rule, uplift_model_uri=f"models:/churn-uplift/{version}",
                    control_fraction=0.1, purge_after_batch=False)


def online(tracking_uri: str, version: str, tmp: Path, requests: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from serving.loop import targeting
    from serving.main import create_app
    from training.synthetic import generate

    frame = generate(requests, seed=5)
    out: dict[str, Any] = {}
    for rule in ("risk", "uplift"):
        app = create_app(_settings(tracking_uri, version, rule, tmp / f"online-{rule}.db"))
        with TestClient(app) as client:
            names = app.state.host.current().model.feature_names
            token = client.post("/v1/admin/users", json={"name": "bench", "role": "agent"},
                                headers={"Authorization": f"Bearer {ADMIN}"}).json()["token"]
            h = {"Authorization": f"Bearer {token}"}
            bodies = [{"customer_id": str(r["customer_id"]),
                       "features": {n: (None if r[n] != r[n] else r[n]) for n in names}}
                      for r in frame.to_dict(orient="records")]
            for b in bodies[:20]:  # warm up
                client.post("/v1/predictions", json=b, headers=h)
            ms = []
            for b in bodies:
                t0 = time.perf_counter()
                r = client.post("/v1/predictions", json=b, headers=h)
                ms.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 201, r.text
            out[rule] = {"median_ms": round(statistics.median(ms), 3),
                         "mean_ms": round(statistics.fmean(ms), 3)}
            if rule == "uplift":
                plan = app.state.uplift
                assert plan is not None
                feats = [json.dumps(b["features"]) for b in bodies[:100]]
                for n in (1, 100):
                    t = []
                    for _ in range(50):
                        t0 = time.perf_counter()
                        targeting.estimate(plan, [str(i) for i in range(n)], feats[:n])
                        t.append((time.perf_counter() - t0) * 1000)
                    out[f"estimate_{n}_rows_ms"] = round(statistics.median(t), 3)
    out["added_median_ms_per_request"] = round(out["uplift"]["median_ms"]
                                               - out["risk"]["median_ms"], 3)
    return out


def batch(tracking_uri: str, version: str, tmp: Path, rows: int) -> dict[str, Any]:
    from serving.batch import score_file
    from serving.modelhost import ModelHost
    from serving.storage import Database
    from serving.storage import monitoring as reads
    from training.synthetic import generate

    path = tmp / "base.parquet"
    generate(rows, seed=9).to_parquet(path, index=False)
    host = None
    out: dict[str, Any] = {"rows": rows}
    for rule in ("risk", "uplift") * 3:  # three times each, alternately: the fastest counts
        db_path = tmp / f"batch-{rule}.db"
        db_path.unlink(missing_ok=True)
        s = _settings(tracking_uri, version, rule, db_path)
        if host is None:
            host = ModelHost(s)
            host.load()
        db = Database(s.database_url)
        report = score_file(s, path, SCHEMA, db=db, host=host)
        with db.session() as session:
            drawn = sum(1 for r in reads.scored(session, with_features=False) if r["arm"])
        db.dispose()
        assert report.targeting == rule
        scoring = report.seconds - report.setup_seconds - report.teardown_seconds
        if rule in out and out[rule]["seconds"] <= scoring:
            continue
        out[rule] = {"seconds": round(scoring, 3), "setup_seconds": report.setup_seconds,
                     "drawn": drawn, "ms_per_row": round(1000 * scoring / rows, 4)}
    added = out["uplift"]["seconds"] - out["risk"]["seconds"]
    out["added_ms_per_row"] = round(1000 * added / rows, 4)
    out["added_ms_per_drawn_row"] = round(1000 * added / max(out["uplift"]["drawn"], 1), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        tracking_uri, version = _models(tmp)
        result = {"online": online(tracking_uri, version, tmp, args.requests),
                  "batch": batch(tracking_uri, version, tmp, args.rows)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
