"""The OpenAPI document as clients (and fuzzers) need it.

FastAPI's generated document is completed in three ways:

1. Error answers are documented where they can happen, with the body they really have
   (`serving.errors.ErrorPublic`): 401/403 on protected routes, 404 on routes addressing a resource,
   422 for every request with input, 429 on rate-limited routes, 413 on every route taking
   a body. FastAPI's default 422 schema (`HTTPValidationError`) is replaced, since this
   API answers 422 with `ErrorPublic` (see `serving.errors`).
2. The `features` of a score request (and the corrected features of a review decision
   and its preview) are described from the served model's spec: numbers as numbers,
   categories as an enum, nothing else allowed. A score request names every feature and
   may send null for an unknown value (scored as missing); a correction names at least
   one feature (the rulebook takes only those the dispute contested, which no static
   document can list) and is never null (unknown is no correction: the rulebook refuses
   it), so its values are not shown as nullable. The document follows the model: it is
   rebuilt after a reload.
3. A 405 answer carries an `Allow` header listing every method of that path.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from models import ModelSpec
from serving import deps
from serving.errors import ErrorPublic
from serving.system.middleware import HttpMiddleware

ERROR_REF = {"$ref": "#/components/schemas/ErrorPublic"}
_ERROR_TEXT = {
    "400": "The body could not be read as JSON",
    "401": "No token, or an unknown one",
    "403": "This token's role may not do this",
    "404": "No such resource, or not yours",
    "409": "Conflicts with the resource's state",
    "413": "The request body is larger than CHURN_MAX_BODY_BYTES (1 MiB by default): "
           "refused before it is read; send less per request",
    "422": "The input does not fit: every problem named with expected, got and fix",
    "429": "Too many requests: retry after the Retry-After header",
}
_PUBLIC = {"/healthz", "/readyz", "/metrics", "/openapi.json"}
# schema properties holding model features, by component schema name: the score request's
# features (all of them, null for unknown), a review's corrections (some, never null)
_FEATURE_FIELDS = {"ScoreRequest": ("features", True),
                   "DecisionCreate": ("corrected_features", False),
                   "PreviewCreate": ("corrected_features", False)}


def feature_schema(spec: ModelSpec, *, required: bool) -> dict[str, Any]:
    """JSON schema of a features object for `spec`: with `required` (a score request)
    every feature, null for an unknown value where the model takes one; else (a
    reviewer's corrections) at least one, never null (the rulebook refuses null:
    unknown is no correction)."""
    properties: dict[str, Any] = {}
    for f in spec.features:
        if f.kind == "numeric":
            prop: dict[str, Any] = {"type": "number"}
        else:
            prop = {"type": "string", "enum": list(f.categories)}
        if f.nullable and required:
            prop = {"anyOf": [prop, {"type": "null"}]}
        prop["title"] = f.display_label("en")
        properties[f.name] = prop
    out: dict[str, Any] = {"type": "object", "properties": properties,
                           "additionalProperties": False}
    if required:
        out["required"] = [f.name for f in spec.features]
        out["description"] = (f"The features of model {spec.dataset}: GET /v1/model "
                              "describes each one; null: unknown")
    else:
        out["minProperties"] = 1
        out["description"] = (f"Corrected values of features of model {spec.dataset} that "
                              "the dispute contested (GET /v1/reviews lists them; any "
                              "other is refused); never null")
    return out


def _complete_errors(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            responses = op.setdefault("responses", {})
            wanted = set()
            if path not in _PUBLIC:
                wanted |= {"401", "403", "429"}
            if "{" in path:
                wanted.add("404")
            if op.get("parameters") or op.get("requestBody"):
                wanted.add("422")
            if op.get("requestBody"):
                wanted.add("400")  # a body that is not JSON at all
                wanted.add("413")  # above the body cap (serving/system/bodylimit.py)
            if method in ("post", "put", "patch", "delete") and path not in _PUBLIC:
                wanted.add("409")  # a write that conflicts with the resource's state
            for response in responses.values():
                content = response.get("content", {}).get("application/json", {})
                if "HTTPValidationError" in str(content.get("schema", "")):
                    content["schema"] = ERROR_REF
            for code in sorted(wanted):
                responses.setdefault(code, {
                    "description": _ERROR_TEXT[code],
                    "content": {"application/json": {"schema": ERROR_REF}},
                })


def _describe_features(schema: dict[str, Any], spec: ModelSpec) -> None:
    components = schema.get("components", {}).get("schemas", {})
    for name, (field, required) in _FEATURE_FIELDS.items():
        component = components.get(name)
        if component and field in component.get("properties", {}):
            prop = component["properties"][field]
            # an optional field stays optional (DecisionCreate's: null for upheld and
            # overturned, which its description says)
            nullable = any(v.get("type") == "null" for v in prop.get("anyOf", []))
            described = feature_schema(spec, required=required)
            # the field's own words first, then the model's
            text = " ".join(x for x in (prop.get("description"), described.pop("description"))
                            if x)
            outer = {k: prop[k] for k in ("title", "default") if k in prop}
            component["properties"][field] = outer | {"description": text} | (
                {"anyOf": [described, {"type": "null"}]} if nullable else described)


def install(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json; `reset(app)` after a model reload."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes,
                             description=app.description)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if "ErrorPublic" not in components:
            error = ErrorPublic.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(error.pop("$defs", {}))
            components["ErrorPublic"] = error
        _complete_errors(schema)
        spec = deps.served_spec(app)
        if spec is not None:
            _describe_features(schema, spec)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(AllowHeader, app=app)


def reset(app: FastAPI) -> None:
    """Forget the cached document (the served model changed)."""
    app.openapi_schema = None


class AllowHeader(HttpMiddleware):
    """On 405, list in `Allow` every method any route accepts for this path."""

    def __init__(self, asgi: ASGIApp, app: FastAPI) -> None:
        super().__init__(asgi)
        self.fastapi = app

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:

        async def send_with_allow(message: dict) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                # PARTIAL: the path fits this route, the method does not. Every route,
                # including those of included routers (FastAPI keeps them nested)
                methods = {m for route in iter_route_contexts(self.fastapi.router.routes)
                           if route.methods and route.matches(scope)[0] != Match.NONE
                           for m in route.methods} - {"HEAD", "OPTIONS"}
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"allow"]
                headers.append((b"allow", ", ".join(sorted(methods)).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_allow)
