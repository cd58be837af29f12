"""Errors: what services raise, the one error body the API answers with, and its handlers.

Services raise `DomainError`s. This module owns everything after that: the body schema
(`ErrorPublic`, with `FieldError` items naming each bad field), the conversion of
request-validation errors into those items, the one function that builds every error
body (`error_body`), and the handlers `install_handlers(app)` adds to the app.

An error body never echoes more than `ECHO_MAX` characters of any input, and is always
valid JSON: NaN and Infinity become text, lone surrogates are escaped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

ECHO_MAX = 80  # characters of an input an error body may quote
TEXT_MAX = 2000  # characters of any text in an error body
SCHEMA_FIX = "See the request schema of this route in /openapi.json."


# -- the body ---------------------------------------------------------------------------------
class FieldError(BaseModel):
    """One bad field: where, what is wrong (a stable code), what was expected, what came
    (a short prefix at most) and how to fix it."""

    model_config = ConfigDict(extra="allow")
    loc: list[str | int] = Field(description="Where: body/query/header/path, then the path")
    field: str = Field(description="The field as a person names it")
    problem: str = Field(description="What is wrong, as a stable code")
    expected: str
    got: str = Field(description=f"What came (at most {ECHO_MAX} characters of it)")
    fix: str


class ErrorPublic(BaseModel):
    """Every error answer of the JSON API: a code, a detail, and for invalid input the
    fields named (`fields`) with one `errors` item each."""

    model_config = ConfigDict(extra="allow")
    error: str = Field(description="A stable code: not_found, invalid_request, ...")
    detail: Any
    fields: list[str] | None = None
    errors: list[FieldError] | None = None


def echo(value: Any) -> Any:
    """An input as an error body may quote it: short, JSON-safe."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) < 10**15:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    return short(value if isinstance(value, str) else repr(value))


def short(text: str, limit: int = ECHO_MAX) -> str:
    """At most `limit` characters, lone surrogates escaped (they cannot be UTF-8)."""
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _json_safe(value: Any) -> Any:
    """Any body value as JSON can carry it: NaN/Infinity as text, surrogates escaped,
    no text longer than `TEXT_MAX`."""
    if isinstance(value, str):
        return short(value, TEXT_MAX)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, Mapping):
        return {_json_safe(str(k)): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, BaseModel):
        return _json_safe(value.model_dump(mode="python"))
    return value


def _short_item(item: FieldError | Mapping[str, Any]) -> dict[str, Any]:
    """A field error item with its quotes of the input (loc, field, got) shortened."""
    out = item.model_dump() if isinstance(item, BaseModel) else dict(item)
    out["loc"] = [p if isinstance(p, int) else short(str(p)) for p in out.get("loc") or ()]
    for key in ("field", "got"):
        if isinstance(out.get(key), str):
            out[key] = short(out[key])
    return out


def error_body(code: str, detail: Any, **extra: Any) -> dict[str, Any]:
    """The one place an error body is built (whoever raised it, it quotes no input at
    length)."""
    if extra.get("errors"):
        extra["errors"] = [_short_item(e) for e in extra["errors"]]
    if extra.get("fields"):
        extra["fields"] = [short(str(f)) for f in extra["fields"]]
    return _json_safe({"error": code, "detail": detail, **extra})


def field_error(loc: Iterable[str | int], problem: str, expected: str, got: Any,
                fix: str = SCHEMA_FIX, field: str | None = None, **extra: Any) -> FieldError:
    """A `FieldError`; `got` is quoted (shortened) unless already worded, `field` defaults
    to the path after body/query/header."""
    loc = [p if isinstance(p, int) else short(str(p)) for p in loc]
    if field is None:
        field = ".".join(str(p) for p in loc[1:]) or str(loc[0] if loc else "body")
    return FieldError(loc=loc, field=short(field), problem=problem, expected=expected,
                      got=short(got if isinstance(got, str) else repr(got)), fix=fix,
                      **extra)


def model_problems(problems: Iterable[Any], loc: list[str | int],
                   **extra: Any) -> list[FieldError]:
    """The model encoder's `FieldProblem`s as field errors at `loc` + the feature name."""
    return [field_error([*loc, p.field], p.problem, p.expected, p.got, p.fix, field=p.field,
                        **extra) for p in problems]


def from_validation(raw: Iterable[Mapping[str, Any]], drop: Iterable[str] = (),
                    prefix: tuple[str | int, ...] = ()) -> list[FieldError]:
    """pydantic's errors as `FieldError`s (the parts of `loc` in `drop` left out,
    `prefix` put before it, e.g. ("body",) for a model validated outside FastAPI)."""
    dropped = set(drop)
    out = []
    for e in raw:
        loc = [*prefix, *(p for p in e.get("loc", ()) if p not in dropped)]
        kind = e.get("type", "invalid")
        got = "nothing" if kind == "missing" else repr(e.get("input"))
        ctx = e.get("ctx") or {}
        if isinstance(ctx.get("expected"), str) and isinstance(ctx.get("fix"), str):
            # a rule of ours raised it (PydanticCustomError with expected, why and fix):
            # its own words in their own fields
            why = ctx.get("why")
            out.append(field_error(loc, kind, ctx["expected"],  # the why first: kept whole
                                   f"{why}: {got}" if isinstance(why, str) else got,
                                   ctx["fix"]))
            continue
        out.append(field_error(loc, kind, e.get("msg", ""), got))
    return out


def _detail(raw: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI's `detail` shape (type, loc, msg, input, ctx) with inputs shortened."""
    out = []
    for e in raw:
        loc = [p if isinstance(p, int) else short(str(p)) for p in e.get("loc", ())]
        item: dict[str, Any] = {"type": e.get("type"), "loc": loc,
                                "msg": e.get("msg", ""), "input": echo(e.get("input"))}
        if e.get("ctx"):
            item["ctx"] = {k: echo(v if isinstance(v, str | int | float | bool | None)
                                   else str(v)) for k, v in e["ctx"].items()}
        out.append(item)
    return out


# -- domain errors ----------------------------------------------------------------------------
class DomainError(Exception):
    """A rule of the domain refused the request: answered with `status_code` and an
    `ErrorPublic` body whose `error` is `code`. Each kind names both on its class line:
    `class Gone(DomainError, status=410, code="gone")`."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "error"

    def __init_subclass__(cls, status: int | None = None, code: str | None = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
        if code is not None:
            cls.code = code

    def __init__(self, detail: str, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled whole (the writer process sends its refusals back): the default
        # pickling of an exception keeps `args` only, and would drop `extra`
        return _rebuild, (type(self), self.detail, self.extra)

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.detail, **self.extra)

    def headers(self) -> dict[str, str]:
        return {}


def _rebuild(cls: type[DomainError], detail: str, extra: dict[str, Any]) -> DomainError:
    return cls(detail, **extra)


STAFF_TOKEN_REFUSED = "unknown or revoked staff token"


class NotAuthenticated(DomainError, status=401, code="not_authenticated"):
    """No credentials, or credentials that are not (or no longer) valid."""

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class TokenWithdrawn(NotAuthenticated):
    """The staff token a prediction was let through with (`serving.auth.known`) was
    revoked, rotated, deactivated or given another role before the prediction's write,
    which confirms it in its own transaction and stored nothing. Answered as a revoked
    token is (401); the scoring fast path forgets the token and answers the request again
    after a fresh lookup, as the route would."""

    def __init__(self, detail: str = STAFF_TOKEN_REFUSED, **extra: Any):
        super().__init__(detail, **extra)


class Forbidden(DomainError, status=403, code="forbidden"):
    """Known caller, but their role (or whose data it is) does not allow this."""


class NotFound(DomainError, status=404, code="not_found"):
    """Nothing by that id, or nothing the caller may know exists."""


class Conflict(DomainError, status=409, code="conflict"):
    """The request is well formed but the current state refuses it (already decided,
    already open, claimed by someone else...)."""


class Suppressed(DomainError, status=409, code="suppressed"):
    """The customer objected to profiling: nothing is scored (issue 4 lets them withdraw)."""

    def body(self) -> dict[str, Any]:
        return {"status": "suppressed", **super().body()}


class ModelRejected(DomainError, status=409, code="model_rejected"):
    """A new model failed its checks; the previous one keeps serving."""


class ContractChanged(ModelRejected, code="contract_changed"):
    """The new model's contract (features, categories, ranges) differs from the served
    one's: refused unless an admin accepts the new contract explicitly."""


class InvalidInput(DomainError, status=422, code="invalid_features"):
    """Features that do not fit the model: every problem, naming the field."""

    @classmethod
    def naming(cls, detail: str, errors: list[FieldError]) -> InvalidInput:
        """The error for these field errors (`fields` lists their names)."""
        return cls(detail, fields=sorted({e.field for e in errors}),
                   errors=[e.model_dump() for e in errors])

    def field_errors(self) -> list[FieldError]:
        return [FieldError.model_validate(e) for e in self.extra.get("errors") or []]


class RateLimited(DomainError, status=429, code="rate_limited"):
    """Too many requests from this caller; `retry_after` (seconds) says when to retry."""

    def headers(self) -> dict[str, str]:
        wait = self.extra.get("retry_after", 1)
        return {"Retry-After": str(max(1, math.ceil(wait)))}


class ModelUnavailable(DomainError, status=503, code="model_unavailable"):
    """No model is loaded: scoring waits until one is (an admin can reload)."""


T = TypeVar("T")


def must_find(value: T | None, detail: str) -> T:
    """`value`, or `NotFound(detail)` when the lookup that gave it found nothing."""
    if value is None:
        raise NotFound(detail)
    return value


# -- handlers ---------------------------------------------------------------------------------
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
_branch_tags: dict[int, frozenset[str]] = {}


def _union_tags(request: Request) -> frozenset[str]:
    """The names pydantic puts in `loc` for each branch of the route's body when the body
    may be one of several types (`Item | list[Item]`); empty otherwise."""
    route = request.scope.get("route")
    body = getattr(route, "body_field", None)
    if body is None:
        return frozenset()
    tags = _branch_tags.get(id(body))
    if tags is None:
        try:  # a value no branch accepts: each branch complains under its own tag
            TypeAdapter(body.field_info.annotation).validate_python(None)
            tags = frozenset()
        except ValidationError as exc:
            tags = frozenset(str(e["loc"][0]) for e in exc.errors() if len(e["loc"]) == 1)
        except Exception:  # noqa: BLE001 - an annotation TypeAdapter cannot take
            tags = frozenset()
        _branch_tags[id(body)] = tags
    return tags


def request_errors(request: Request, exc: RequestValidationError) -> list[FieldError]:
    """The request's validation errors as `FieldError`s. A body that may be one of several
    types is judged by the branch its shape chose: the other branch's complaint that the
    body is not of its type is left out (unless no branch got further)."""
    raw = list(exc.errors())
    tags = _union_tags(request)
    if tags:
        def wrong_branch(e: Mapping[str, Any]) -> bool:
            loc = e.get("loc", ())
            return len(loc) == 2 and loc[0] == "body" and loc[1] in tags
        raw = [e for e in raw if not wrong_branch(e)] or raw
    errors = from_validation(raw, drop=tags)
    sent = request.headers.get("content-type")
    if not _json_type(sent):
        # a body that is not an object because it was not sent as JSON (a form, text, no
        # type): say so, rather than only that it is not an object
        fix = (f"Send the body as JSON with the header Content-Type: application/json "
               f"(it came as {sent!r})." if sent else "Send the body as JSON with the header "
               "Content-Type: application/json (it came without a Content-Type).")
        errors = [e.model_copy(update={"fix": fix}) if len(e.loc) == 1 and e.loc[0] == "body"
                  else e for e in errors]
    return errors


def _json_type(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON (application/json or a +json type)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/")
                                          and kind.endswith("+json"))


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each field with what was expected and what came (JSON API); FastAPI's
    own answer elsewhere. `detail` keeps FastAPI's shape, inputs shortened."""
    if not request.url.path.startswith("/v1/"):
        return await request_validation_exception_handler(request, exc)
    errors = request_errors(request, exc)
    return JSONResponse(error_body(
        "invalid_request", _detail(exc.errors()), fields=sorted({e.field for e in errors}),
        errors=errors), status_code=422)


def _domain_error(_: Request, exc: DomainError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers())


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Framework errors (unreadable body, unknown route, wrong method) in the JSON API's
    error shape; FastAPI's own answer elsewhere, but for an address that names nothing
    (404), in the API's shape wherever it is, saying what to check. (A browser asking for
    a page reads the pages' 404 page instead: `serving.web.core.not_found`, installed over
    this handler by `serving.web.mount`.)"""
    if exc.status_code == 404 and exc.detail == _NO_ROUTE:
        return JSONResponse(error_body("not_found", no_route(request)), status_code=404,
                            headers=getattr(exc, "headers", None))
    if not request.url.path.startswith("/v1/"):
        return await http_exception_handler(request, exc)
    extra: dict[str, Any] = {}
    if exc.status_code == 400 and exc.detail == _UNPARSED:
        # the body could not even be read as JSON text: name it, what came, and the fix
        sent = request.headers.get("content-type") or "no Content-Type"
        encoding = request.headers.get("content-encoding")
        got = sent + (f", Content-Encoding {encoding}" if encoding else "")
        extra = {"fields": ["body"], "errors": [field_error(
            ["body"], "unreadable body", "a JSON document encoded in UTF-8, uncompressed",
            f"a body that is not UTF-8 JSON ({got})",
            "Send the body as UTF-8 JSON with the header Content-Type: application/json, "
            "without another charset or a Content-Encoding.").model_dump()]}
    return JSONResponse(error_body(_HTTP_CODES.get(exc.status_code, "error"), exc.detail,
                                   **extra),
                        status_code=exc.status_code, headers=getattr(exc, "headers", None))


_UNPARSED = "There was an error parsing the body"  # FastAPI's words for an unreadable body
_NO_ROUTE = "Not Found"  # the framework's 404 (no route, no static file), in its own words


def no_route(request: Request) -> str:
    """What a 404 for an address that names nothing says: the address (shortened) and
    what to check."""
    return (f"Nothing answers {request.method} {short(request.url.path)}: check the address "
            "and the method against the API's routes (GET /openapi.json lists them, where "
            "the documentation is on).")


_DB_STATE = {"unreachable": "cannot be reached", "read-only": "is read-only",
             "full": "is full", "busy": "is busy", "unusable": "cannot be used"}


def _database_error(_: Request, exc: Exception) -> JSONResponse:
    """A database that cannot take the request (unreachable, read-only, full, busy): 503
    with Retry-After, one log line, nothing of the statement or the driver's text shown."""
    from serving.storage.health import BUSY, classify, first_line

    kind = classify(exc)
    if kind is None:  # not the database's state: a bug, answered in the API's shape
        logging.getLogger("churn.errors").error("database error", exc_info=exc)
        return JSONResponse(error_body("internal_error", "An unexpected error occurred."),
                            status_code=500)
    logging.getLogger("churn.errors").warning("database %s: %s", kind, first_line(exc))
    wait = 1 if kind == BUSY else 10
    return JSONResponse(error_body(
        "database_unavailable",
        f"The database {_DB_STATE.get(kind, 'cannot be used')} at the moment. Try again in "
        f"{wait} s.", reason=kind),
        status_code=503, headers={"Retry-After": str(wait)})


def _write_unconfirmed(_: Request, exc: Exception) -> JSONResponse:
    """The writer process ended before it confirmed a write: 503, nothing acknowledged.
    It may have ended between its commit and its reply, so the answer does not say the
    prediction was not stored: it says to repeat it with the same Idempotency-Key (stored
    at most once), and that a repeat without one is safe too (the customer is scored again;
    the risk list keeps one entry per customer and a customer has at most one open task)."""
    logging.getLogger("churn.errors").error("%s", exc)
    return JSONResponse(error_body(
        "write_unconfirmed", "The prediction was not confirmed: the writer stopped before "
        "it answered, so it may or may not have been stored. Send the request again in 1 s "
        "with the same Idempotency-Key header to have it stored at most once (the repeat "
        "answers what was stored). Without a key a repeat is still safe: it scores the "
        "customer again, and they keep one risk-list entry and at most one open task."),
        status_code=503, headers={"Retry-After": "1"})


def install_handlers(app: FastAPI) -> None:
    """Answer domain errors, framework errors and invalid requests with `ErrorPublic`;
    a database that cannot be used with 503 `database_unavailable`, a write the writer
    process could not confirm with 503 `write_unconfirmed`."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    from serving.storage.health import driver_errors
    from serving.storage.writerproc import WriterLost

    for db_error in driver_errors():
        app.add_exception_handler(db_error, _database_error)
    app.add_exception_handler(WriterLost, _write_unconfirmed)


def documented(description: str) -> dict[str, Any]:
    """An error answer for a route's `responses=`."""
    return {"model": ErrorPublic, "description": description}


# what a public customer route may also answer; what a route needing the model may
CUSTOMER = {429: documented("Too many requests with this access link or from this address")}
NO_MODEL = {503: documented("No model is loaded")}
