"""Score, explain, route and store: the online path (up to 1,000 records per call)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ModelSpec, pseudonymise
from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.config import Settings
from serving.errors import InvalidInput, NotFound, Suppressed
from serving.modelhost import ServedModel
from serving.routing import route, routes
from serving.scoring import explain
from serving.scoring.schemas import (
    ContributionPublic,
    ModelRef,
    PredictionPublic,
    RoutePublic,
    ScoreRequest,
)
from serving.storage import bulk
from serving.storage.db import write_lock
from serving.storage.tables import (
    OPEN_TASK_STATUSES,
    Customer,
    ModelVersion,
    Prediction,
    RetentionTask,
    new_id,
)


class SpecCache:
    """Model specs by (name, version), read from `model_versions` once per process."""

    def __init__(self) -> None:
        self._specs: dict[tuple[str, str], ModelSpec] = {}
        self._lock = threading.Lock()

    def put(self, name: str, version: str, spec: ModelSpec) -> None:
        with self._lock:
            self._specs[(name, version)] = spec

    def get(self, session: Session, name: str, version: str) -> ModelSpec:
        key = (name, version)
        spec = self._specs.get(key)
        if spec is None:
            row = session.get(ModelVersion, key)
            if row is None:
                raise NotFound(f"model {name} version {version} is not recorded")
            spec = ModelSpec.model_validate(row.spec)
            self.put(name, version, spec)
        return spec


def register_model(session: Session, served: ServedModel, specs: SpecCache | None = None) -> None:
    """Record the served version and its spec (so its receipts can always be explained)."""
    with write_lock(session):
        bulk.register_model_version(
            session, served.name, served.version,
            json.loads(served.spec.model_dump_json()), datetime.now(UTC),
        )
        session.commit()
    if specs is not None:
        specs.put(served.name, served.version, served.spec)


def _invalid(items: list[ScoreRequest], served: ServedModel) -> list[dict[str, Any]]:
    encoder = served.model.encoder
    assert encoder is not None
    errors = []
    batch = len(items) > 1
    for i, item in enumerate(items):
        for p in encoder.problems(item.features):
            loc: list[Any] = ["body"] + ([i] if batch else []) + ["features", p.field]
            errors.append({"loc": loc, "row": i if batch else None, **p.as_dict()})
    return errors


def score(
    session: Session,
    served: ServedModel,
    settings: Settings,
    items: list[ScoreRequest],
    principal: Principal,
    lang: str = "en",
) -> list[PredictionPublic]:
    """Validate every record first (nothing half-written), then score, explain, route,
    store the receipts, open human tasks, and commit before returning."""
    errors = _invalid(items, served)
    if errors:
        fields = sorted({e["field"] for e in errors})
        raise InvalidInput(
            f"the features do not fit model {served.name} v{served.version}: "
            + "; ".join(f"{e['field']}: {e['problem']}" for e in errors[:10]),
            fields=fields,
            errors=errors,
        )
    model, spec = served.model, served.spec
    assert model.encoder is not None
    X = model.encoder.encode_records([i.features for i in items], validate=False)
    ex = model.explain(X)
    now = datetime.now(UTC)
    key = settings.pseudonym_secret
    refs = [pseudonymise(i.customer_id, key) for i in items]

    with write_lock(session):
        bulk.insert_customers(
            session,
            [{"customer_ref": r, "external_id": i.customer_id, "created_at": now,
              "restricted": False, "objected": False}
             for r, i in {r: i for r, i in zip(refs, items, strict=True)}.items()],
        )
        # Locked (PostgreSQL) in key order: a dispute or objection being written for one
        # of these customers is waited for, so its restriction is seen here.
        flags = {
            c.customer_ref: c
            for c in session.scalars(select(Customer).where(Customer.customer_ref.in_(set(refs)))
                                     .order_by(Customer.customer_ref).with_for_update())
        }
        objected = [i for i, r in enumerate(refs) if flags[r].objected]
        if objected:
            session.rollback()
            raise Suppressed(
                "the customer objected to profiling: nothing is scored"
                if len(items) == 1 else
                f"records {objected} are customers who objected to profiling: nothing is scored",
                rows=objected,
            )

        t = served.thresholds
        bands, _human, _near = routes(ex.score, t)
        pids = [new_id() for _ in items]
        receipts, latest, tasks, routes_out = [], {}, {}, []
        for n, ref in enumerate(refs):
            values = explain.decoded_values(spec, X[n])
            restricted = flags[ref].restricted
            r = route(float(ex.score[n]), t, restricted=restricted)
            routes_out.append(r)
            receipts.append({
                "id": pids[n], "customer_ref": ref, "model_name": served.name,
                "model_version": served.version, "score": float(ex.score[n]),
                "margin": float(ex.margin[n]), "base_value": float(ex.base_value),
                "risk_band": str(bands[n]), "features": explain.features_json(values),
                "shap": explain.pack_shap(ex.shap[n]), "route_action": r.action,
                "route_reason": r.reason, "source": "api", "actor": principal.actor,
                "withdrawn": False, "created_at": now,
            })
            latest[ref] = {"ref": ref, "pid": pids[n], "score": float(ex.score[n]),
                           "band": str(bands[n]), "at": now}
            if r.action == "human_contact":
                tasks[ref] = {"id": new_id(), "customer_ref": ref, "prediction_id": pids[n],
                              "status": "open", "score": float(ex.score[n]), "reason": r.reason,
                              "created_at": now, "updated_at": now, "version": 1}
        session.execute(Prediction.__table__.insert(), receipts)
        bulk.set_latest(session, list(latest.values()))
        bulk.open_tasks(session, list(tasks.values()))
        task_ids = dict(
            session.execute(
                select(RetentionTask.prediction_id, RetentionTask.id).where(
                    RetentionTask.customer_ref.in_(set(tasks)),
                    RetentionTask.status.in_(OPEN_TASK_STATUSES),
                )
            ).all()
        ) if tasks else {}
        audit.append_many(session, [
            audit.event(principal, audit.PREDICTION_CREATED, customer_ref=rec["customer_ref"],
                        objects={"prediction_id": rec["id"], "task_id": task_ids.get(rec["id"])},
                        model=served)
            for rec in receipts])
        session.commit()

    out = []
    for n, rec in enumerate(receipts):
        values = json.loads(rec["features"])
        out.append(PredictionPublic(
            prediction_id=rec["id"], customer_ref=rec["customer_ref"],
            model=ModelRef(name=served.name, version=served.version),
            score=rec["score"], risk_band=rec["risk_band"], base_value=rec["base_value"],
            margin=rec["margin"],
            contributions=[ContributionPublic(**c) for c in
                           explain.contributions(spec, values, ex.shap[n], lang)],
            route=RoutePublic(action=routes_out[n].action, reason=routes_out[n].reason),
            retention_task_id=task_ids.get(rec["id"]),
            created_at=now,
        ))
    return out


def public(session: Session, specs: SpecCache, p: Prediction, lang: str = "en",
           top: int | None = None, task_id: str | None = None) -> PredictionPublic:
    """A stored prediction as the API shows it, explained from its model version's spec."""
    spec = specs.get(session, p.model_name, p.model_version)
    values = json.loads(p.features)
    return PredictionPublic(
        prediction_id=p.id, customer_ref=p.customer_ref,
        model=ModelRef(name=p.model_name, version=p.model_version),
        score=p.score, risk_band=p.risk_band, base_value=p.base_value, margin=p.margin,
        contributions=[ContributionPublic(**c) for c in explain.contributions(
            spec, values, explain.unpack_shap(p.shap), lang, top)],
        route=RoutePublic(action=p.route_action, reason=p.route_reason),
        retention_task_id=task_id,
        created_at=p.created_at,
    )


def get_prediction(session: Session, specs: SpecCache, prediction_id: str,
                   principal: Principal, lang: str = "en") -> PredictionPublic:
    """Staff read any receipt; a customer only their own (anyone else's is 404)."""
    p = session.get(Prediction, prediction_id)
    if p is None or (principal.kind == "customer" and p.customer_ref != principal.customer_ref):
        raise NotFound("no such prediction")
    task_id = session.scalar(
        select(RetentionTask.id).where(
            RetentionTask.prediction_id == p.id,
            RetentionTask.status.in_(OPEN_TASK_STATUSES),
        )
    )
    return public(session, specs, p, lang, task_id=task_id)
