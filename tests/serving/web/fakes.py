"""Stand-ins for the contestability services (issue 4) while they do not exist, so the
pages that call them can be driven in a browser. They replace the functions of
`serving.web.contest` (the pages' only way to those services) for one test; once the
real services are wired in (`contest.SERVICES_READY`), the tests use those instead."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from serving.errors import NotFound
from serving.scoring.schemas import ScoreRequest
from serving.scoring.service import score
from serving.storage.tables import Customer, Prediction
from serving.web import contest


@dataclass
class FakeContest:
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    def _log(self, action: str, principal: Any, ref: str | None = None) -> None:
        self.events.append({"seq": len(self.events) + 1, "at": datetime.now(UTC),
                            "action": action, "actor": principal.actor,
                            "role": principal.role, "customer_ref": ref,
                            "object_ids": {}, "hash": uuid.uuid4().hex})

    def create_dispute(self, request, session, principal, prediction_id, contested,  # noqa: ANN001
                       statement, wants_human_review, key):  # noqa: ANN001, ANN201
        row = session.get(Prediction, prediction_id)
        if row is None or row.customer_ref != principal.customer_ref:
            raise NotFound("no such prediction")
        now = datetime.now(UTC)
        d = {"dispute_id": str(uuid.uuid4()), "status": "open", "prediction_id": prediction_id,
             "customer_ref": row.customer_ref, "contested_features": contested,
             "statement": statement, "wants_human_review": wants_human_review,
             "created_at": now, "due_by": now + timedelta(days=30)}
        self.disputes[d["dispute_id"]] = d
        session.get(Customer, row.customer_ref).restricted = True
        session.commit()
        self._log("dispute", principal, row.customer_ref)
        return contest.view(d)

    def customer_disputes(self, request, session, principal):  # noqa: ANN001, ANN201
        return [contest.view(d) for d in self.disputes.values()
                if d["customer_ref"] == principal.customer_ref]

    def dispute(self, request, session, principal, dispute_id):  # noqa: ANN001, ANN201
        d = self.disputes.get(dispute_id)
        if d is None or (principal.kind == "customer"
                         and d["customer_ref"] != principal.customer_ref):
            raise NotFound("no such dispute")
        return contest.view(d)

    def review_queue(self, request, session, principal):  # noqa: ANN001, ANN201
        return [contest.view(d) for d in sorted(self.disputes.values(),
                                                key=lambda d: d["created_at"])
                if d["status"] == "open"]

    def decide(self, request, session, principal, dispute_id, decision, rationale,  # noqa: ANN001
               corrected):  # noqa: ANN001, ANN201
        d = self.disputes[dispute_id]
        d.update(status="decided", decision=decision, rationale=rationale,
                 decided_at=datetime.now(UTC))
        customer = session.get(Customer, d["customer_ref"])
        customer.restricted = False
        session.commit()
        if decision == "rectified":
            row = session.get(Prediction, d["prediction_id"])
            features = json.loads(row.features) | corrected
            out = score(session, request.app.state.host.current(), request.app.state.settings,
                        [ScoreRequest(customer_id=customer.external_id, features=features)],
                        principal)
            d["new_prediction_id"] = out[0].prediction_id
        self._log("decision", principal, d["customer_ref"])
        return contest.view(d)

    def object_to_profiling(self, request, session, principal):  # noqa: ANN001, ANN201
        session.get(Customer, principal.customer_ref).objected = True
        session.commit()
        self._log("objection", principal, principal.customer_ref)

    def withdraw_objection(self, request, session, principal):  # noqa: ANN001, ANN201
        session.get(Customer, principal.customer_ref).objected = False
        session.commit()

    def audit_events(self, request, session, principal, limit=100):  # noqa: ANN001, ANN201
        return [contest.audit_row(e) for e in reversed(self.events[-limit:])]

    def audit_verify(self, request, session, principal):  # noqa: ANN001, ANN201
        return contest.chain_check({"ok": True, "checked": len(self.events)})

    def install(self, monkeypatch: Any) -> FakeContest:
        for name in ("create_dispute", "customer_disputes", "dispute", "review_queue",
                     "decide", "object_to_profiling", "withdraw_objection", "audit_events",
                     "audit_verify"):
            monkeypatch.setattr(contest, name, getattr(self, name))
        return self
