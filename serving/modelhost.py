"""The served model: loaded once from the MLflow registry, checked, hot-swapped on reload.

A reload builds and checks the new model completely before swapping one reference,
so requests never see a half-loaded model, and a bad model is refused while the old
one keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from models.contract import contract_differences, contract_version
from models.spec import ModelSpec
from serving.config import Settings
from serving.errors import ContractChanged, ModelRejected, ModelUnavailable
from serving.routing import Thresholds

if TYPE_CHECKING:
    from models.churn_model import ChurnModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    alias: str | None
    uri: str
    model: ChurnModel
    thresholds: Thresholds
    run_id: str | None = None
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def spec(self) -> ModelSpec:
        assert self.model.spec is not None
        return self.model.spec

    @cached_property
    def contract_version(self) -> str:
        """The short digest of the features' contract (`models.contract`)."""
        return contract_version(self.spec)


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """``models:/name@alias`` -> (name, alias, None); ``models:/name/3`` -> (name, None, "3")."""
    if not uri.startswith("models:/"):
        raise ValueError(f"{uri!r} is not a registry URI (models:/<name>@<alias>)")
    rest = uri[len("models:/"):].strip("/")
    if "@" in rest:
        name, alias = rest.split("@", 1)
        return name, alias, None
    if "/" in rest:
        name, version = rest.rsplit("/", 1)
        return name, None, version
    raise ValueError(f"{uri!r} names neither an alias nor a version: models:/<name>@<alias>")


def thresholds_for(spec: ModelSpec, settings: Settings) -> Thresholds:
    """Settings override the model's profit-optimal thresholds; checked together."""
    high = settings.risk_high_threshold
    medium = settings.risk_medium_threshold
    high = spec.decision.high_threshold if high is None else high
    medium = spec.decision.medium_threshold if medium is None else medium
    try:
        return Thresholds(high=high, medium=min(medium, high),
                          review_margin=settings.human_review_margin)
    except ValueError as exc:
        raise ModelRejected(f"risk thresholds do not fit: {exc}") from exc


def probe_record(spec: ModelSpec) -> dict[str, Any]:
    """A valid record built from the spec alone (first category, middle of the range)."""
    record: dict[str, Any] = {}
    for f in spec.features:
        if f.kind == "numeric":
            lo = f.min if f.min is not None else 0.0
            hi = f.max if f.max is not None else lo
            middle = (lo + hi) / 2.0
            record[f.name] = float(round(middle)) if f.integer else middle
        else:
            record[f.name] = f.categories[0]
    return record


def check_model(model: Any, signature: Any) -> list[str]:
    """Every reason this object cannot be served (empty when it can)."""
    # imported here: the writer process imports this module and needs neither LightGBM nor
    # MLflow (tests/serving/system/test_lean.py)
    from models.churn_model import ChurnModel
    from models.signature import signature_problems

    if not isinstance(model, ChurnModel):
        return [f"the registered model is a {type(model).__name__}, not a models.ChurnModel"]
    if model.spec is None or model.booster is None:
        return ["the ChurnModel has no booster or spec"]
    problems = signature_problems(signature, model.spec)
    if problems:
        return problems
    try:
        ex = model.explain_records([probe_record(model.spec)])
    except Exception as exc:  # noqa: BLE001 - any failure here means "do not serve it"
        return [f"the model cannot score a valid record: {exc}"]
    gap = abs(ex.base_value + float(ex.shap.sum()) - float(ex.margin[0]))
    if not np.isfinite(ex.score).all() or gap > 1e-6:
        return [f"the model's explanation does not add up (gap {gap:g})"]
    return []


def requirement_mismatches(model_dir: str) -> list[str]:
    """Each `name==version` the model's requirements.txt pins that this process does not
    have (with the version it has), for a model stored at a local path or file: URI."""
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    path = Path(unquote(urlparse(model_dir).path) if model_dir.startswith("file:")
                else model_dir) / "requirements.txt"
    out = []
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    for line in lines:
        name, sep, wanted = line.strip().partition("==")
        if not sep or not name or name.startswith(("#", "-")):
            continue
        try:
            have = version(name)
        except PackageNotFoundError:
            have = "none"
        if have != wanted:
            out.append(f"{name}=={wanted}; this process has {name} {have}")
    return out


def load_served_model(settings: Settings, uri: str | None = None) -> ServedModel:
    """Resolve, load and check a registered model; raises `ModelRejected`."""
    import mlflow
    from mlflow import MlflowClient

    uri = uri or settings.model_uri
    name, alias, version = parse_model_uri(uri)
    # No global registry URI is set: the client carries it (the process may hold others).
    client = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    try:
        mv = (client.get_model_version_by_alias(name, alias) if alias
              else client.get_model_version(name, version))
    except Exception as exc:  # noqa: BLE001 - MLflow raises several kinds
        raise ModelRejected(
            f"no model at {uri} in the registry {settings.tracking_uri}: "
            f"{str(exc).strip().rstrip('.')}. Train and promote one first "
            "(make train PROMOTE=1), or point CHURN_MODEL_URI at a registered model."
        ) from exc
    # Pin the version so an alias that moves during the load cannot mix two models.
    pinned = f"models:/{name}/{mv.version}"
    source = "its artifact store"
    try:
        source = client.get_model_version_download_uri(name, mv.version)
        local = source.startswith(("/", "file:"))
        if not local:
            mlflow.set_tracking_uri(settings.tracking_uri)  # remote artifacts need the server
        # MLflow's own check of the model's requirements maps every installed package to
        # its modules (~2 s at each start and reload); a local model's few pinned
        # requirements are compared here instead, with the same warning
        pyfunc = mlflow.pyfunc.load_model(source, suppress_warnings=local)
        if local:
            for line in requirement_mismatches(source):
                log.warning("model %s was logged with %s", pinned, line)
        model = pyfunc.unwrap_python_model()
        signature = pyfunc.metadata.signature
    except Exception as exc:  # noqa: BLE001
        raise ModelRejected(
            f"model {pinned} cannot be loaded from {source}: "
            f"{str(exc).strip().rstrip('.')}. Its files are missing or damaged: restore "
            "them from a backup of the artifact store, or register and promote another "
            "model (make train PROMOTE=1)") from exc
    problems = check_model(model, signature)
    if problems:
        raise ModelRejected(f"model {pinned} is refused: " + "; ".join(problems),
                            problems=problems)
    return ServedModel(
        name=name,
        version=str(mv.version),
        alias=alias,
        uri=uri,
        model=model,
        thresholds=thresholds_for(model.spec, settings),
        run_id=mv.run_id,
    )


class ModelHost:
    """Holds the served model; `reload` swaps it atomically after a full check."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._current: ServedModel | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None

    @classmethod
    def with_model(cls, settings: Settings, served: ServedModel) -> ModelHost:
        host = cls(settings)
        host._current = served
        return host

    @property
    def ready(self) -> bool:
        return self._current is not None

    def current(self) -> ServedModel:
        served = self._current
        if served is None:
            raise ModelUnavailable(
                f"no model is loaded ({self.last_error or 'not loaded yet'}); "
                "an admin can retry with POST /v1/admin/reload-model"
            )
        return served

    def load(self) -> ServedModel:
        return self.reload()

    def reload(self, uri: str | None = None, *,
               accept_new_contract: bool = False) -> ServedModel:
        """Load the model at `uri` (default: the configured one) and swap it in. A model
        whose contract differs from the served one's is refused (`ContractChanged`,
        naming the differences) unless `accept_new_contract`."""
        with self._lock:  # one reload at a time; readers never wait
            started = time.perf_counter()
            try:
                served = load_served_model(self.settings, uri)
                old = self._current
                if (old is not None and not accept_new_contract
                        and served.contract_version != old.contract_version):
                    differences = contract_differences(served.spec, old.spec)
                    raise ContractChanged(
                        f"model {served.name}/{served.version} is refused: its contract "
                        f"differs from the served model {old.name}/{old.version}'s ("
                        + "; ".join(differences) + "); reload with "
                        "?accept_new_contract=true to switch to it on purpose",
                        differences=differences, served_contract=old.contract_version,
                        new_contract=served.contract_version)
            except ModelRejected as exc:
                self.last_error = exc.detail
                log.error("model refused, keeping %s: %s",
                          self._current and f"{self._current.name} v{self._current.version}",
                          exc.detail)
                raise
            self._current = served
            self.last_error = None
            log.info("serving %s version %s (%.1fs)", served.name, served.version,
                     time.perf_counter() - started)
            return served
