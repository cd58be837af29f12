"""Domain errors. Services raise these; one handler in `serving.main` maps them to HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, detail: str, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Suppressed(DomainError):
    """The customer objected to profiling: nothing is scored (issue 4 lets them withdraw)."""

    status_code = 409
    code = "suppressed"

    def body(self) -> dict[str, Any]:
        return {"status": "suppressed", "error": self.code, "detail": self.detail, **self.extra}


class ModelRejected(DomainError):
    """A new model failed its checks; the previous one keeps serving."""

    status_code = 409
    code = "model_rejected"


class InvalidInput(DomainError):
    """Features that do not fit the model: every problem, naming the field."""

    status_code = 422
    code = "invalid_features"


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"


class ModelUnavailable(DomainError):
    status_code = 503
    code = "model_unavailable"
