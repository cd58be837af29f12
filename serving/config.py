"""Serving settings: read once from `CHURN_*` environment variables and checked at startup."""

from __future__ import annotations

import math
import os
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The same public development key as training's: pseudonyms agree between the two in dev.
# Never used when CHURN_MODE=production (startup refuses to run without a real key).
from models.pseudonym import DEV_PSEUDONYM_KEY  # defined once, in models/

DEV_LINK_SECRET = "dev-only-link-secret-change-me"
MIN_SECRET_BYTES = 32
GENERATE = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
# published in this repository (code, README, tests): never a production secret
KNOWN_SECRETS = frozenset({DEV_PSEUDONYM_KEY, DEV_LINK_SECRET, "test-admin-token-0123456789"})


def weak_secrets(settings: Settings) -> list[str]:
    """Each secret that must not run in production, with why (issue 15): a value
    published with the code, or shorter than 32 bytes."""
    out = []
    for name, value in (("CHURN_PSEUDONYM_KEY", settings.pseudonym_key),
                        ("CHURN_LINK_SECRET", settings.link_secret),
                        ("CHURN_ADMIN_TOKEN", settings.admin_token)):
        if value is None:
            continue
        secret = value.get_secret_value()
        if secret in KNOWN_SECRETS:
            out.append(f"{name} is a published development value")
        elif len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
            out.append(f"{name} is shorter than {MIN_SECRET_BYTES} bytes")
    return out
MAX_BATCH = 1000
# uplift targeting's amounts (issue 17): (lowest, highest, lowest allowed itself)
AMOUNT_BOUNDS = {"customer_value": (0.0, 1e9, False), "contact_cost": (0.0, 1e9, True)}
AMOUNT_NAMES = {"customer_value": "what keeping a customer whose own value is not known "
                                  "is worth",
                "contact_cost": "what one retention call costs, in the same currency"}
# lifetimes in hours: (shortest, longest). At least a minute (a link must survive its own
# delivery); a link at most 31 days, sessions at most a week (a stolen one dies)
LIFETIME_BOUNDS = {"link_ttl_hours": (1 / 60, 24 * 31), "customer_session_hours": (1 / 60, 168),
                   "staff_session_hours": (1 / 60, 168)}
LIFETIME_NAMES = {"link_ttl_hours": "customer's access link, until it is used",
                  "customer_session_hours": "customer session opened by a link",
                  "staff_session_hours": "staff page session, from sign-in"}


class Settings(BaseSettings):
    """Everything `make serve`, `make score` and `make create-user` can be told."""

    model_config = SettingsConfigDict(env_prefix="CHURN_", extra="ignore")

    mode: Literal["dev", "production"] = "dev"

    # storage
    database_url: str = "sqlite:///var/churn.db"
    migrate_on_start: bool = True
    # `serve` waits at most this long for an unreachable database, then exits with one line
    database_wait_seconds: float = Field(default=10.0, ge=0, le=600)

    # HTTP
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str = "http://127.0.0.1:8000"
    # request bodies above this are refused with 413 before they are read
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    # /docs, /redoc and /openapi.json: None = on in development, off in production
    api_docs: bool | None = None
    # FastAPI's native OpenTelemetry (traces, metrics, logs through the global providers).
    # Off by default: its check costs every request about 20 microseconds of the event
    # loop, and this service exports its own Prometheus metrics (`GET /metrics`)
    otel_telemetry: bool = False

    # model (MLFLOW_TRACKING_URI, MLflow's own variable, wins over the default store)
    model_uri: str = "models:/churn@champion"
    tracking_uri: str = Field(
        default_factory=lambda: os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    )
    model_required: bool = True  # refuse to start without a model (else /readyz says 503)
    # where a run the service logs (`contact-effect --mlflow`) keeps its artifacts beside a
    # local store: the folder training uses (CHURN_ARTIFACT_ROOT), never ./mlruns
    artifact_root: str = "mlartifacts"

    # secrets
    admin_token: SecretStr | None = None
    pseudonym_key: SecretStr | None = None
    link_secret: SecretStr | None = None
    # lifetimes (issue 15), in hours: an access link before it is exchanged, a customer
    # session opened by a link, a staff page session opened by signing in
    link_ttl_hours: float = 72
    customer_session_hours: float = 12
    staff_session_hours: float = 8

    # messages to customers (issue 15): over SMTP when set (smtp://user:pass@host:port,
    # smtps://, smtp+starttls://), else into a local mailbox directory (development)
    smtp_url: str | None = None
    mail_from: str = "churn-service@localhost"
    mailbox_dir: str = "var/mailbox"
    delivery_worker: bool = True  # deliver from a thread of the API process
    delivery_poll_seconds: float = Field(default=1.0, gt=0, le=3600)
    delivery_retry_seconds: float = Field(default=5.0, ge=0, le=3600)
    delivery_max_attempts: int = Field(default=8, ge=1, le=100)
    # a message claimed by a worker that died is taken again after this long
    delivery_lease_seconds: float = Field(default=60.0, gt=0, le=86400)
    # what the SMTP server accepted, recorded before the database commit (one file per
    # in-flight message, `serving/delivery/journal.py`): a worker killed in between does
    # not send it again. A directory of this machine, shared by its workers
    delivery_journal_dir: str = "var/delivery-journal"

    # routing: None = the model's own profit-optimal thresholds (its DecisionSpec)
    risk_high_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    risk_medium_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    human_review_margin: float = Field(default=0.03, ge=0.0, le=0.5)

    # public customer routes: requests per window, per customer token and per client
    rate_limit_per_token: int = Field(default=60, ge=1)
    rate_limit_per_client: int = Field(default=120, ge=1)
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    # counted in Redis when set (shared by every replica), else in each process
    redis_url: str | None = None
    redis_key_prefix: str = Field(default="churn", min_length=1, max_length=100)

    # online scoring: concurrent requests share a transaction (one fsync) up to this many rows
    group_commit_rows: int = Field(default=2_000, ge=1, le=20_000)
    # ... and the writer waits up to this long (ms) for the group to reach the size of the
    # recent ones: fewer, fuller flushes under load; a lone request never waits (0: off).
    # Unset: 0 for the writer process, 2 for the thread (each measured best for its writer)
    group_commit_wait_ms: float | None = Field(default=None, ge=0, le=100)
    # ... in a writer process of its own, which takes the write's Python work (rows, audit
    # hash chain) off the event loop's interpreter lock (measured on 2 cores under wrk:
    # about 1.5x the thread's throughput), or in a thread of the server; an in-memory
    # SQLite database, which no other process can open, always writes in the thread
    writer: Literal["thread", "process"] = "process"

    # batch scoring
    batch_chunk_rows: int = Field(default=20_000, ge=100, le=2_000_000)
    # rows per batch transaction: fewer, larger commits rewrite the customer indexes less
    # often; SQLite writers of other processes wait meanwhile (seconds at 100k rows)
    batch_commit_rows: int = Field(default=100_000, ge=1, le=10_000_000)
    # `make score` runs on a Dask LocalCluster of this many workers, which share this
    # machine's cores (one worker on every core keeps one memo: the fastest here)
    batch_workers: int = Field(default=1, ge=1, le=256)
    # a file of this many rows or more is read, scored and explained in a child process
    # while this one writes (measured at 1M rows on 2 cores: the writer's pass went from
    # 56 s to about 30 s, no longer taking turns with the preparation on one interpreter
    # lock). The child costs 3-4 s to start (a fresh interpreter importing LightGBM and
    # MLflow), which the faster pass pays back from about 200,000 rows (0: always)
    batch_process_rows: int = Field(default=200_000, ge=0)
    # distinct customer rows remembered per batch run, so TreeSHAP runs once per distinct
    # row (exact: a row's explanation depends on the row alone); 0 explains every row
    batch_memo_rows: int = Field(default=100_000, ge=0, le=10_000_000)
    max_batch: int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)

    # the retention queue (issue 16): a task is due this many days after it opens, and a
    # customer contacted (or whose task was closed) within the last `handled_days` days is
    # listed after the others on the risk list and the queue
    task_due_days: int = Field(default=7, ge=1, le=365)
    task_handled_days: int = Field(default=30, ge=0, le=365)

    # retention schedule (issue 18; `make purge`, and after `make score`): days a record is
    # kept once it is closed; what an open dispute or open task still needs is never due
    retention_predictions_days: int = Field(default=395, ge=31, le=36500)  # receipts
    retention_tasks_days: int = Field(default=395, ge=31, le=36500)  # done or cancelled
    retention_disputes_days: int = Field(default=1095, ge=31, le=36500)  # once decided
    retention_notices_days: int = Field(default=395, ge=1, le=36500)  # notices sent/failed
    retention_outbox_days: int = Field(default=30, ge=1, le=36500)  # link messages
    purge_after_batch: bool = True
    # contest analytics and the compliance report (issue 18): counts below this are shown
    # as "< k", so no cell can single out a customer
    analytics_min_cell: int = Field(default=5, ge=2, le=1000)
    # blind-first review: the reviewer records their own judgement before the model's
    # score and explanation are shown to them (off by default: a team switches it on
    # when it wants to measure, and counter, automation bias)
    blind_review: bool = False
    # the record of processing (`make compliance-report`)
    controller_name: str = Field(default="the operator of this service", min_length=1,
                                 max_length=200)
    legal_basis: str = Field(
        default="legitimate interests (GDPR Art. 6(1)(f)): keeping customers by "
                "understanding why they may leave, with the right to object (Art. 21)",
        min_length=1, max_length=1000)

    # closing the loop (issue 17): the randomised control group. Of the customers a
    # prediction would open a retention task for, this share gets none, drawn by a keyed
    # hash of the pseudonym and the campaign period (0: no control group, reported as such)
    control_fraction: float = Field(default=0.10, ge=0.0, le=0.5)
    # a prediction's observed label: its customer left within this many days after it
    label_horizon_days: int = Field(default=90, ge=1, le=3650)
    # the campaign period the control draw is made for (a customer keeps their arm in it)
    campaign_period: Literal["month", "quarter", "year"] = "month"
    # which rule ranks the retention queue: churn risk, or estimated uplift (issue 17)
    targeting: Literal["risk", "uplift"] = "risk"

    # rights requests (issue 18): an erasure asked for on the customer page is carried out
    # by a person, or automatically this many days after it was asked (`python -m
    # serving.cli rights-due`): time for the customer to cancel it, well within the
    # one-month deadline of Art. 12(3)
    erasure_wait_days: int = Field(default=7, ge=0, le=28)
    # who the customer writes to about their data (shown on their page and in their copy);
    # unset: "our data protection officer", reached by replying to any of our messages
    dpo_contact: str | None = Field(default=None, min_length=3, max_length=300)
    # where a customer may complain (Art. 77). Unset: the CNIL on French pages, and on
    # English pages the customer's national authority (the EDPB's list), the CNIL being the
    # authority of a business established in France
    supervisory_authority: str | None = Field(default=None, min_length=2, max_length=300)
    supervisory_authority_url: str | None = Field(default=None, max_length=300)

    # uplift targeting (issue 17): the promoted uplift model, and the expected retained
    # value rule: uplift x customer value - contact cost. The customer value is each
    # customer's own when known (the schema's value_column, a request's customer_value),
    # else this default; both amounts in the same currency, checked in `_amounts`
    uplift_model_uri: str = "models:/churn-uplift@champion"
    customer_value: float = 300.0
    contact_cost: float = 10.0
    # monitoring (issue 17): drift (PSI against the training reference) warns and alerts at
    # these levels; realised ROC-AUC whose interval lies below `monitor_min_auc`, or an
    # equalized-odds gap above `monitor_max_equalized_odds`, alerts too
    drift_psi_warn: float = Field(default=0.1, gt=0, le=10)
    drift_psi_alert: float = Field(default=0.25, gt=0, le=10)
    monitor_min_auc: float = Field(default=0.7, ge=0.5, le=1)
    monitor_max_equalized_odds: float = Field(default=0.25, ge=0, le=1)
    # the sensitive attributes for the fairness audit over time (never features): a CSV or
    # Parquet file with the customer id column and the attributes, kept apart by the DPO
    audit_attributes: str | None = None
    audit_attributes_id: str = "customer_id"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError(
                f"CHURN_DATABASE_URL {value!r} is not supported; use sqlite:///path/to.db or "
                "postgresql+psycopg://user@host:5432/dbname"
            )
        if value.startswith("postgresql:"):
            value = "postgresql+psycopg:" + value[len("postgresql:"):]
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("CHURN_REDIS_URL must start with redis://, rediss:// or "
                             "unix:// (e.g. redis://127.0.0.1:6379/0)")
        return value or None

    @field_validator("model_uri")
    @classmethod
    def _registry_uri(cls, value: str) -> str:
        if not value.startswith("models:/"):
            raise ValueError(
                f"CHURN_MODEL_URI {value!r} must name a registered model: models:/<name>@<alias> "
                "or models:/<name>/<version> (the served name and version appear in every score)"
            )
        return value

    @field_validator("admin_token")
    @classmethod
    def _long_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("CHURN_ADMIN_TOKEN must be at least 16 characters long")
        return value

    @field_validator("link_ttl_hours", "customer_session_hours", "staff_session_hours")
    @classmethod
    def _lifetime(cls, value: float, info: ValidationInfo) -> float:
        name = info.field_name
        low, high = LIFETIME_BOUNDS[name]
        if not low <= value <= high:
            var = f"CHURN_{name.upper()}"
            raise ValueError(
                f"{var} is {value:g}; expected between {low:g} and {high:g} hours (the life "
                f"of a {LIFETIME_NAMES[name]}); set it in that range, e.g. "
                f"{var}={cls.model_fields[name].default:g}")
        return value

    @field_validator("customer_value", "contact_cost")
    @classmethod
    def _amounts(cls, value: float, info: ValidationInfo) -> float:
        name = info.field_name
        low, high, low_ok = AMOUNT_BOUNDS[name]
        var = f"CHURN_{name.upper()}"
        if not (math.isfinite(value) and (value >= low if low_ok else value > low)
                and value <= high):
            raise ValueError(
                f"{var} is {value!r}; expected a number {'from' if low_ok else 'above'} "
                f"{low:g} up to {high:g} ({AMOUNT_NAMES[name]}); set it in that range, e.g. "
                f"{var}={cls.model_fields[name].default:g}")
        return value

    @field_validator("supervisory_authority_url")
    @classmethod
    def _authority_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"CHURN_SUPERVISORY_AUTHORITY_URL {value!r} must be a web "
                             "address starting with https:// (e.g. https://www.cnil.fr/fr/plaintes)")
        return value or None

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"CHURN_PUBLIC_BASE_URL {value!r} must start with http(s)://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _drift_levels(self) -> Settings:
        if self.drift_psi_warn >= self.drift_psi_alert:
            raise ValueError(
                f"CHURN_DRIFT_PSI_WARN ({self.drift_psi_warn}) must be below "
                f"CHURN_DRIFT_PSI_ALERT ({self.drift_psi_alert}); the usual levels are 0.1 "
                "and 0.25")
        return self

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        high, medium = self.risk_high_threshold, self.risk_medium_threshold
        if high is not None and medium is not None and medium > high:
            raise ValueError(
                f"CHURN_RISK_MEDIUM_THRESHOLD {medium} is above CHURN_RISK_HIGH_THRESHOLD {high}; "
                "the medium band must start below the high band"
            )
        if self.mode == "production":
            missing = [
                name
                for name, value in (
                    ("CHURN_PSEUDONYM_KEY", self.pseudonym_key),
                    ("CHURN_LINK_SECRET", self.link_secret),
                )
                if not value or not value.get_secret_value()
            ]
            if missing:
                raise ValueError(
                    f"{' and '.join(missing)} not set; required when CHURN_MODE=production. "
                    f"Generate each with: {GENERATE}; the pseudonym key must be the one "
                    "training uses."
                )
            weak = weak_secrets(self)
            if weak:
                raise ValueError(
                    "CHURN_MODE=production refuses weak secrets: " + "; ".join(weak)
                    + f". Generate a strong one with: {GENERATE}"
                )
        return self

    @property
    def pseudonym_secret(self) -> str:
        return self.pseudonym_key.get_secret_value() if self.pseudonym_key else DEV_PSEUDONYM_KEY

    @property
    def link_signing_secret(self) -> str:
        return self.link_secret.get_secret_value() if self.link_secret else DEV_LINK_SECRET
