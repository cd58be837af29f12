"""Refuse, at the edge, text no database can store: NUL characters (U+0000) and unpaired
surrogates (U+D800-U+DFFF), before any route runs: 422 `invalid_request` in the API's error
shape (its error item naming the query string or the body), or 404 for a NUL in the path
(no resource has such a name).

PostgreSQL refuses both in text (psycopg raises, which used to surface as a 500 from
whichever statement met them first: a prediction id in a path, a user name, a task note);
SQLite would store them. Refusing them here gives one answer on both databases, whatever
the route:

- in the path or the query string: a NUL, raw or percent-encoded (`%00`);
- in a body: a raw NUL byte; in JSON a `\\u0000` escape or a `\\uD800`-`\\uDFFF` escape
  that is not part of a surrogate pair; in a form body `%00`.

Bodies are scanned as they stream (a pattern split across two chunks is still found), so
nothing is buffered; on a match the client gets its 422 and the app is told the client
left, as `serving.system.bodylimit` does for an oversized body. (A JSON string holding the
six characters backslash-u-0-0-0-0 as text is refused too: such text is not expected.)
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from serving.errors import error_body, field_error
from serving.system.bodywatch import watch_body

_JSON_BAD = re.compile(
    rb"\x00|\\u0000"
    rb"|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_FORM_BAD = re.compile(rb"\x00|%00")
_LOOKAHEAD = 12  # bytes at a chunk's end left for the next chunk to decide (a pair's tail)
_CONTEXT = 6  # bytes before them kept for the look-behind (a pair's head)
DETAIL = ("Text in this request holds a NUL character (U+0000) or an unpaired surrogate "
          "(U+D800-U+DFFF), which cannot be stored; remove it and send the request again.")


def bad_url(scope: Scope) -> str | None:
    """Where a NUL is in the URL: "path", "query", or None."""
    raw = scope.get("raw_path", b"") or b""
    if "\x00" in scope.get("path", "") or b"\x00" in raw or (
            b"%" in raw and b"\x00" in unquote_to_bytes(raw)):  # nothing to decode without %
        return "path"
    query = scope.get("query_string", b"")
    return "query" if b"%00" in query or b"\x00" in query else None


def bad_json(body: bytes) -> bool:
    """Whether a whole JSON body holds a NUL or an unpaired surrogate (what this guard
    refuses in a JSON body, checked at once: the scoring fast path reads the body whole)."""
    if b"\x00" not in body and b"\\u" not in body:
        return False
    return _JSON_BAD.search(body) is not None


# Customer pages whose forms go through the same request schemas as the JSON API, which
# refuse such text with a field error the page shows in the customer's language: a bare
# JSON 422 would lose the customer their form.
_SELF_CHECKING_PAGES = ("/me/",)


def _page_checks_itself(path: str) -> bool:
    return path.startswith(_SELF_CHECKING_PAGES)


class TextGuard:
    """422 for NUL characters and unpaired surrogates in the URL or the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._answers = {where: self._answer(where) for where in ("path", "query", "body")}

    @staticmethod
    def _encoded(encoding: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """415 for a compressed (or otherwise encoded) body: it is not decoded, so its bytes
        would be misread (as a NUL character, or as text that is not JSON)."""
        got = encoding.decode("latin-1")[:40]
        item = field_error(["body"], "unsupported encoding", "an uncompressed body (no "
                           "Content-Encoding, or identity)", f"Content-Encoding {got}",
                           fix="Send the body uncompressed, without a Content-Encoding header.",
                           field="body")
        raw = json.dumps(error_body(
            "unsupported_media_type", f"A body with Content-Encoding {got} is not read; send "
            "it uncompressed.", fields=["body"], errors=[item])).encode()
        return 415, [(b"content-type", b"application/json"),
                     (b"content-length", str(len(raw)).encode()),
                     (b"connection", b"close"), (b"cache-control", b"no-store")], raw

    @staticmethod
    def _answer(where: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """A path holding a NUL names nothing that exists: 404. In the query string or the
        body: 422 invalid_request, its one error item naming where."""
        if where == "path":
            status, body = 404, error_body("not_found", "No such resource: the path holds a "
                                           "NUL character (U+0000).")
        else:
            item = field_error([where], "invalid_text", "text without NUL characters or "
                               "unpaired surrogates", "a NUL or an unpaired surrogate",
                               fix=DETAIL, field=where)
            status, body = 422, error_body("invalid_request", DETAIL, fields=[where],
                                           errors=[item])
        raw = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(raw)).encode()),
                   (b"connection", b"close"),
                   (b"cache-control", b"no-store")]
        return status, headers, raw

    async def _refuse(self, send: Send, where: str = "body") -> None:
        status, headers, raw = self._answers[where]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw, "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = bad_url(scope)
        if where is not None:
            await self._refuse(send, where)
            return
        pattern = _JSON_BAD
        form = typed = False
        for name, value in scope.get("headers", ()):
            if name == b"content-encoding" and value.strip().lower() not in (b"", b"identity"):
                status, headers, raw = self._encoded(value.strip())
                await send({"type": "http.response.start", "status": status,
                            "headers": headers})
                await send({"type": "http.response.body", "body": raw, "more_body": False})
                return
            if name == b"content-type" and not typed:  # the first, as Starlette reads it
                typed = True
                form = value.startswith(b"application/x-www-form-urlencoded")
        if form:
            if _page_checks_itself(scope.get("path", "")):
                await self.app(scope, receive, send)
                return
            pattern = _FORM_BAD

        tail = b""

        def bad(chunk: bytes, final: bool) -> bool:
            """A match starting in this chunk's decidable part: the bytes after those the
            last call decided, up to the last `_LOOKAHEAD` (unless this chunk is the last)."""
            nonlocal tail
            buf = tail + chunk
            decided = max(0, len(tail) - _LOOKAHEAD)  # kept only as look-behind context
            tail = buf[-(_LOOKAHEAD + _CONTEXT):]
            if b"\x00" not in buf and b"\\u" not in buf and b"%00" not in buf:
                return False
            limit = len(buf) if final else len(buf) - _LOOKAHEAD
            return any(decided <= m.start() < limit for m in pattern.finditer(buf))

        await watch_body(self.app, scope, receive, send, bad, self._refuse)
