"""Prometheus metrics, one registry per app (several apps can live in one process)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("churn_http_requests_total", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("churn_http_request_seconds", "HTTP request latency",
                                 ["method", "route"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.predictions = Counter("churn_predictions_total", "Predictions stored",
                                   ["source", "band"], registry=self.registry)
        self.model = Gauge("churn_model_info", "The served model (value 1)",
                           ["name", "version"], registry=self.registry)
        self.reloads = Counter("churn_model_reloads_total", "Model reload attempts",
                               ["result"], registry=self.registry)

    def count_predictions(self, preds: Iterable, source: str) -> None:  # noqa: ANN001
        for p in preds:
            self.predictions.labels(source, p.risk_band).inc()

    def serving(self, name: str, version: str) -> None:
        self.model.clear()
        self.model.labels(name, version).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
