"""The served model's description, readiness, and switching to a new champion."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import FeatureSpec
from models.contract import contract_differences
from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.config import Settings
from serving.errors import ModelRejected
from serving.loop import targeting
from serving.loop.targeting import UpliftPlan
from serving.modelhost import ModelHost, ServedModel
from serving.scoring.schemas import ModelRef
from serving.specs import SpecCache, last_served, register_model
from serving.storage import Database, health
from serving.system.metrics import Metrics
from serving.system.schemas import (
    FeaturePublic,
    ModelPublic,
    Readiness,
    ReloadResult,
    TargetingRulePublic,
    ThresholdsPublic,
)


def readiness(host: ModelHost, db: Database) -> Readiness:
    """Ready to serve: a model is loaded and the database takes a write (tried and rolled
    back; on SQLite also room on its disk)."""
    db_problem = health.problem(db)
    db_ok = db_problem is None
    current = host._current  # noqa: SLF001 - a read of the reference, no lock needed
    ready = db_ok and current is not None
    return Readiness(
        ready=ready, model_loaded=current is not None, database=db_ok,
        model=ModelRef(name=current.name, version=current.version,
                       contract_version=current.contract_version) if current else None,
        detail=None if ready else (
            f"database {db_problem[0]}" if db_problem  # no driver text: a public route
            else host.last_error or "no model loaded"),
    )


def _domain(f: FeatureSpec) -> dict[str, Any]:
    """A number's accepted range and whole-number rule, as the contract has them."""
    if f.kind != "numeric":
        return {}
    lo, hi = f.valid_range()
    return {"lower": lo, "upper": hi, "integer": f.integer}


def targeting_rule(settings: Settings, plan: UpliftPlan | None) -> TargetingRulePublic:
    """The targeting rule in force (issue 17), as the model card states it."""
    applied = "uplift" if settings.targeting == "uplift" and plan is not None else "risk"
    return TargetingRulePublic(
        rule=applied, requested=settings.targeting,
        uplift_model=(f"{plan.uri}" + (f" (v{plan.version})" if plan.version else ""))
        if applied == "uplift" and plan else None,
        customer_value=settings.customer_value, contact_cost=settings.contact_cost,
        control_fraction=settings.control_fraction,
        statement=targeting.rule_statement(settings.targeting, plan, settings.control_fraction))


def describe(served: ServedModel, rule: TargetingRulePublic | None = None) -> ModelPublic:
    """The served model's card: features, thresholds and the targeting rule in force."""
    spec = served.spec
    features = []
    for f in spec.features:
        features.append(FeaturePublic(
            name=f.name, type=f.kind,
            label={"en": f.display_label("en"), "fr": f.display_label("fr")},
            categories=list(f.categories) if f.kind != "numeric" else None,
            value_labels={k: v.model_dump() for k, v in f.value_labels.items()} or None,
            min=f.min, max=f.max, nullable=f.nullable,
            **_domain(f),
            unit=f.unit.model_dump() if f.unit else None,
            description=f.description_text("en"), purpose=f.purpose_text("en"),
        ))
    t = served.thresholds
    return ModelPublic(
        name=served.name, version=served.version, alias=served.alias, uri=served.uri,
        contract_version=served.contract_version, run_id=served.run_id,
        dataset=spec.dataset, target=spec.target,
        trained_at=spec.trained_at, loaded_at=served.loaded_at,
        thresholds=ThresholdsPublic(high=t.high, medium=t.medium,
                                    human_review_margin=t.review_margin),
        features=features, targeting=rule,
    )


def describe_for(session: Session, served: ServedModel, reader: Principal,
                 rule: TargetingRulePublic | None = None) -> ModelPublic:
    """`describe`, with an outside auditor's read audited."""
    out = describe(served, rule)
    audit.third_party_read(session, reader, "model", "api", model_name=served.name,
                           model_version=str(served.version))
    return out


def contract_at_start(session: Session, served: ServedModel) -> list[str]:
    """How the starting model's contract differs from that of the model this database saw
    served last (empty: the same, or nothing served before). A restart onto another
    contract is not refused (the registry's champion is the operator's choice) but never
    silent: the caller logs it and the start-up audit event records it."""
    last = last_served(session)
    if last is None or (last[0], last[1]) == (served.name, served.version):
        return []
    return contract_differences(served.spec, last[2])


def reload_model(session: Session, host: ModelHost, specs: SpecCache, metrics: Metrics,
                 principal: Principal, uri: str,
                 accept_new_contract: bool = False) -> ReloadResult:
    """Load the current champion, check it in full, swap it in; a refused model leaves
    the old one serving (audited either way). A champion with another contract (its
    features, categories, ranges) is refused unless `accept_new_contract`."""
    previous = host._current  # noqa: SLF001
    try:
        current = host.reload(accept_new_contract=accept_new_contract)
    except ModelRejected:
        metrics.reloads.labels("refused").inc()
        audit.record(session, principal, audit.MODEL_REFUSED, model=previous,
                     objects={"uri": uri})
        raise
    register_model(session, current, specs)
    contract_changed = (previous is not None
                        and previous.contract_version != current.contract_version)
    audit.record(session, principal, audit.MODEL_RELOADED, model=current,
                 objects={"previous": f"{previous.name}/{previous.version}" if previous
                          else None, "contract_version": current.contract_version,
                          "previous_contract_version": previous.contract_version
                          if previous else None, "contract_changed": contract_changed})
    metrics.reloads.labels("ok").inc()
    metrics.serving(current.name, current.version)
    return ReloadResult(
        previous=ModelRef(name=previous.name, version=previous.version,
                          contract_version=previous.contract_version) if previous else None,
        current=ModelRef(name=current.name, version=current.version,
                         contract_version=current.contract_version),
        changed=previous is None or (previous.name, previous.version)
        != (current.name, current.version),
        contract_version=current.contract_version,
        previous_contract_version=previous.contract_version if previous else None,
        contract_changed=contract_changed,
    )
