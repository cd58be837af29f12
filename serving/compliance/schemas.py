"""The compliance report (counts only; null: a count from 1 to k-1, suppressed): what
`service.build` makes and the API, the page, its downloads and the CLI's files show."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ModelServedPublic(BaseModel):
    name: str
    version: str
    first_served_at: str
    dataset: str | None
    features: list[dict[str, str]] = Field(
        description="Each input: name, label, kind, description, purpose (in the report's "
                    "language) and the language each text is written in")
    card: str | None = Field(description="The model card (Markdown) from MLflow, in English")
    card_problem: str | None = None


class RequestSummaryPublic(BaseModel):
    kind: str
    opened: int | None
    answered: int | None
    answered_in_time: int | None
    extended: int | None
    open_overdue: int | None
    in_time_rate: float | None


class ComplianceReportPublic(BaseModel):
    """The record of processing (GDPR Art. 30) and what was done in the period."""

    lang: str = Field(description="The language of the texts: en or fr")
    title: str
    generated_at: str
    since: str | None
    until: str | None
    as_of: str | None = Field(None, description=(
        "Set for an outside auditor: the period's figures as they stood at this time (its "
        "end); a dispute decided or a request answered later counts as open"))
    controller: str
    purposes: list[str]
    legal_basis: str
    people: list[str]
    data_categories: list[dict[str, str]]
    recipients: list[str]
    retention: dict[str, int] = Field(description="Days each kind of record is kept")
    security: list[str]
    requests: list[RequestSummaryPublic]
    requests_total: int
    disputes: dict[str, Any] = Field(description="Received, decided, open, outcomes and "
                                                 "rates (suppressed cells null)")
    models: list[ModelServedPublic]
    audit_chain: dict[str, Any] = Field(description="The chain verified when the report "
                                                    "was built")
    k: int = Field(description="Counts from 1 to k-1 are suppressed")
