"""The ceiling of "score + exact SHAP over HTTP" on this machine: a deliberately minimal
reference server for `make bench`, never a product.

Same booster as the served model (``models:/churn@champion``), one numpy row per request,
LightGBM's ``predict(pred_contrib=True)``, the calibrated score; no auth, no validation
beyond types, no write, no reasons. It takes the same body as ``POST /v1/predictions``
(``{"customer_id": ..., "features": {...}}``) so both get the same bytes from wrk, and it
runs on the same HTTP stack with the same uvicorn settings as ``serving.cli serve``
(`serving.cli.UVICORN`), so the two differ only in what the application does.

    python -m bench.ceiling --port 8001   # MLFLOW_TRACKING_URI names the registry
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np


def build_app(model_uri: str, tracking_uri: str | None):  # noqa: ANN201
    import mlflow

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.pyfunc.load_model(model_uri).unwrap_python_model()
    booster, spec = model.booster, model.spec
    from models.churn_model import calibrate

    calibration = spec.calibration
    names = [f.name for f in spec.features]
    # per feature: None for a number, else category -> code
    codes = [
        None if f.kind == "numeric" else {c: float(i) for i, c in enumerate(f.categories)}
        for f in spec.features
    ]
    columns = list(zip(names, codes, strict=True))
    k = len(names)

    def score(features: dict) -> bytes:
        row = np.empty((1, k), dtype=np.float64)
        for j, (name, table) in enumerate(columns):
            v = features.get(name)
            if v is None:
                row[0, j] = math.nan
            elif table is None:
                row[0, j] = float(v)  # a type error is the only refusal
            else:
                row[0, j] = table.get(v, math.nan)
        phi = booster.predict(row, pred_contrib=True, num_threads=1)[0]
        margin = float(phi.sum())
        return json.dumps(
            {
                "score": float(calibrate(np.array([margin]), calibration)[0]),
                "margin": margin,
                "base_value": float(phi[-1]),
                "shap": dict(zip(names, phi[:-1].tolist(), strict=True)),
            }
        ).encode()

    async def app(scope, receive, send):  # noqa: ANN001, ANN202 - plain ASGI
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["method"] != "POST":  # health check
            body, status = b"ok", 200
        else:
            chunks = []
            more = True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            try:
                body, status = score(json.loads(b"".join(chunks))["features"]), 200
            except (ValueError, TypeError, KeyError) as exc:
                body, status = json.dumps({"error": str(exc)}).encode(), 422
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def main(argv: list[str] | None = None) -> int:
    import os

    import uvicorn

    from serving.cli import UVICORN

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="models:/churn@champion")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = build_app(args.model, os.environ.get("MLFLOW_TRACKING_URI"))
    uvicorn.run(app, host=args.host, port=args.port, **UVICORN)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
