"""Prometheus metrics, one registry per app (several apps can live in one process)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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
        # monitoring (issue 17): the latest batch run against the training reference
        self.drift_psi = Gauge("churn_drift_psi", "PSI of each feature and of the score in "
                               "the latest batch run against the model's training reference",
                               ["column"], registry=self.registry)
        self.drift_alert = Gauge("churn_drift_alert", "1 when the column's PSI in the latest "
                                 "batch run is at or above CHURN_DRIFT_PSI_ALERT, else 0",
                                 ["column"], registry=self.registry)
        # the labelled children of the per-request metrics, looked up once per label set:
        # `labels()` validates and locks on every call, a cost each request paid
        self._children: dict[tuple, Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request answered: counted by route template and status, and timed."""
        self._child(self.requests, method, route, str(status)).inc()
        self._child(self.latency, method, route).observe(seconds)

    def count_bands(self, bands: Iterable[str], source: str) -> None:
        """One more stored prediction per risk band given."""
        for band in bands:
            self._child(self.predictions, source, band).inc()

    def serving(self, name: str, version: str) -> None:
        self.model.clear()
        self.model.labels(name, version).set(1)

    def drift(self, psi: dict[str, float], alert: dict[str, bool]) -> None:
        """Export the latest batch run's drift (replacing the previous run's columns)."""
        self.drift_psi.clear()
        self.drift_alert.clear()
        for column, value in psi.items():
            self.drift_psi.labels(column).set(value)
            self.drift_alert.labels(column).set(1 if alert.get(column) else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
