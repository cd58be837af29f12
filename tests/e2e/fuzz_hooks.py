"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.e2e.fuzz_hooks) for inputs a schema-driven
generator does not make: bodies above the server's cap (CHURN_FUZZ_BODY_CAP), strings
holding lone surrogates or NUL bytes in bodies, and NUL bytes in path parameters and query
strings.

Each generated value is kept as it is, or turned into one of those (hypothesis chooses, so
the run stays reproducible with --seed). Every call is tallied in CHURN_FUZZ_TALLY (one
line per call: the kind of input and the status) for the test to check and report.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

CAP = int(os.environ.get("CHURN_FUZZ_BODY_CAP", str(1024 * 1024)))
ODD = ("\ud800", "\udfff", "\x00", "a\x00b", "\ud83d\x00")  # lone surrogates, NUL bytes
# in a URL: NUL bytes only (a lone surrogate has no UTF-8 form a client could send)
ODD_URL = ("\x00", "a\x00b", "\x00/x")
PAD = "_padding"


def poison(value: Any, odd: str, keys: bool = True) -> Any:
    """`value` with `odd` in every string (and every key unless `keys` is false)."""
    if isinstance(value, str):
        return value + odd
    if isinstance(value, dict):
        return {poison(k, odd) if keys and isinstance(k, str) else k: poison(v, odd, keys)
                for k, v in value.items()}
    if isinstance(value, list):
        return [poison(v, odd, keys) for v in value]
    return value


def oversized(body: Any) -> Any:
    pad = "x" * (CAP + 1)
    if isinstance(body, dict):
        return {**body, PAD: pad}
    if isinstance(body, list):
        return [*body, pad]
    return pad


@schemathesis.hook
def flatmap_body(context, body):  # noqa: ANN001, ANN201
    return st.one_of(st.just(body), st.sampled_from(ODD).map(lambda odd: poison(body, odd)),
                     st.just(oversized(body)))


def _url_variants(params: Any) -> st.SearchStrategy:
    if not params:
        return st.just(params)
    return st.one_of(st.just(params), st.sampled_from(ODD_URL).map(
        lambda odd: poison(params, odd, keys=False)))


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):  # noqa: ANN001, ANN201
    return _url_variants(path_parameters)


@schemathesis.hook
def flatmap_query(context, query):  # noqa: ANN001, ANN201
    return _url_variants(query)


def _has_odd(value: Any) -> bool:
    if isinstance(value, str):
        return any(ch in value for ch in ("\x00",)) or any(
            0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    if isinstance(value, dict):
        return any(_has_odd(k) or _has_odd(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_odd(v) for v in value)
    return False


def kind_of(case: Any) -> str:
    body = getattr(case, "body", None)
    if isinstance(body, dict | list | str):
        size = len(json.dumps(body, ensure_ascii=True))
        if size > CAP:
            return "oversized"
    if any(_has_odd(getattr(case, part, None))
           for part in ("body", "path_parameters", "query")):
        return "surrogate_or_nul"
    return "plain"


@schemathesis.hook
def after_call(context, case, response):  # noqa: ANN001, ANN201
    tally = os.environ.get("CHURN_FUZZ_TALLY")
    if tally:
        with open(tally, "a", encoding="utf-8") as f:
            f.write(f"{kind_of(case)} {response.status_code} {case.method} {case.path}\n")
