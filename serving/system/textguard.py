"""Refuse, at the edge, text no database can store: NUL characters (U+0000) and unpaired
surrogates (U+D800-U+DFFF), before any route runs: 422 `invalid_request` in the API's error
shape (its error items naming the query parameter or the body field), or 404 for a NUL in
the path (no resource has such a name).

PostgreSQL refuses both in text (psycopg raises, which used to surface as a 500 from
whichever statement met them first: a prediction id in a path, a user name, a task note);
SQLite would store them. Refusing them here gives one answer on both databases, whatever
the route:

- in the path or the query string: a NUL, raw or percent-encoded (`%00`);
- in a body: a raw NUL byte; in JSON a `\\u0000` escape or a `\\uD800`-`\\uDFFF` escape
  that is not part of a surrogate pair; in a form body `%00`.

Bodies are scanned as they stream (a pattern split across two chunks is still found), so
nothing is copied; on a match the client gets its 422 and the app is told the client
left, as `serving.system.bodylimit` does for an oversized body. (A JSON string holding the
six characters backslash-u-0-0-0-0 as text is refused too: such text is not expected.)
The 422 names the field the text is in, as pydantic's `loc` would (`["body", "statement"]`,
`["body", 0, "features", "plan"]`, a form's `["body", "note"]`): the chunks already passed
on are kept by reference until the body ends (the app holds them too), to be read back
only on a match; `["body"]` when no field holds it (a raw NUL between JSON tokens).

A NUL in the query string is located at each parameter holding it (`["query", "q"]`, as
pydantic's `loc` names a query parameter; a name holding it is quoted as the address shows
it, `a%00b`).

Pages (`/staff...`, `/me...`) are answered in HTML, not in the API's JSON: a page request
whose URL holds a NUL goes on to its page with the parameters holding it dropped from the
query string (the others kept: the refusal page honours `lang=`) and the refusal noted in
its scope (`refused`), and the page route answers its error page in the page's language
(`serving.web.core.PageRoute`), before any handler runs. A page's form body (url-encoded)
goes on unscanned: the page's form dependency (`serving.web.core.checked_form`) refuses a
NUL in any field, with a page naming it, or has the form shown again as typed with the
error by its field.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_plus, unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from serving.errors import error_body, field_error, short
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


def _holds_nul(part: bytes) -> bool:
    return b"%00" in part or b"\x00" in part


def query_names(query: bytes) -> list[str]:
    """The query parameters holding a NUL, as the address shows them (percent-encoded,
    shortened): what a page names when it refuses the query."""
    out = []
    for part in query.split(b"&"):
        if _holds_nul(part):
            name = part.split(b"=", 1)[0] if b"=" in part else part
            text = name.replace(b"\x00", b"%00").decode("latin-1")
            out.append(text[:40] + ("…" if len(text) > 40 else ""))
    return out or [query.replace(b"\x00", b"%00").decode("latin-1")[:40]]


def query_params(query: bytes) -> list[str]:
    """The query parameters holding a NUL as the API's `loc` names them: decoded as a
    parameter's name is (`sort%5B%5D` is `sort[]`), unless the name itself holds the NUL
    (then as the address shows it, `a%00b`: no error body quotes a NUL)."""
    out = []
    for part in query.split(b"&"):
        if not _holds_nul(part):
            continue
        raw = part.split(b"=", 1)[0]
        if _holds_nul(raw):
            out.append(raw.replace(b"\x00", b"%00").decode("latin-1"))
        else:
            out.append(unquote_plus(raw.decode("latin-1"), encoding="utf-8",
                                    errors="replace"))
    return out or ["query"]


def query_kept(query: bytes) -> bytes:
    """The query string without the parameters holding a NUL (`lang=fr&q=%00`:
    `lang=fr`): what a page refusing the others can still read."""
    return b"&".join(p for p in query.split(b"&") if p and not _holds_nul(p))


# where a JSON text is: a string (complete, or cut short by the end of the prefix), or one
# of the tokens that open, close or separate
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*("?)|[{}\[\],:]', re.DOTALL)


def json_loc(prefix: bytes) -> list[str | int] | None:
    """The path, as pydantic's `loc` after "body" gives it, of the JSON string that
    `prefix` (a JSON body up to a refused character) ends inside: `["statement"]`,
    `[0, "features", "plan"]`, `[]` for a document that is one string; for a key, the
    object holding it. None when `prefix` does not end inside a string."""
    stack: list[list[Any]] = []  # per open container: [is an object, key or index, key next]
    for m in _JSON_TOKEN.finditer(prefix):
        token = m.group()
        if token[:1] == b'"':
            if not m.group(1):  # not closed: the string the refused character is in
                if stack and stack[-1][0] and stack[-1][2]:
                    stack.pop()  # in a key: the object holding it is named
                return [slot for _, slot, _ in stack]
            if stack and stack[-1][0] and stack[-1][2]:
                try:
                    stack[-1][1] = json.loads(token)
                except ValueError:  # an escape json cannot read: the key as it came
                    stack[-1][1] = token[1:-1].decode("utf-8", "replace")
        elif token == b"{":
            stack.append([True, None, True])
        elif token == b"[":
            stack.append([False, 0, False])
        elif token in (b"}", b"]"):
            if not stack:
                return None
            stack.pop()
        elif token == b":" and stack:
            stack[-1][2] = False
        elif token == b"," and stack:
            if stack[-1][0]:
                stack[-1][2] = True
            else:
                stack[-1][1] += 1
    return None


def form_loc(prefix: bytes) -> list[str] | None:
    """The form field (`["note"]`) whose value `prefix` (a form body up to a refused
    character) ends inside; None when it ends inside a field's name."""
    pair = prefix.rsplit(b"&", 1)[-1]
    if b"=" not in pair:
        return None
    name = unquote_to_bytes(pair.split(b"=", 1)[0].replace(b"+", b" "))
    return [name.decode("utf-8", "replace")]


def bad_json(body: bytes) -> bool:
    """Whether a whole JSON body holds a NUL or an unpaired surrogate (what this guard
    refuses in a JSON body, checked at once: the scoring fast path reads the body whole)."""
    if b"\x00" not in body and b"\\u" not in body:
        return False
    return _JSON_BAD.search(body) is not None


# The pages (serving/web): a person in a browser reads the refusal of their URL or of their
# form, so the page answers it in HTML (a JSON body is no answer to them, and would lose
# them their form). Every page form is read by `serving.web.core.checked_form`, which
# refuses a NUL in any field before a handler reads it.
_PAGES = ("/staff", "/me")
REFUSED = "churn.text_refused"  # the scope key a page's refused URL is noted under


def refused_in_form(text: str) -> bool:
    """Whether a form's text (a field's name or value, decoded) holds what this guard
    refuses in a form body, a NUL: what the pages, whose forms it lets through, refuse
    themselves (`serving.web.core`)."""
    return "\x00" in text


def is_page(path: str) -> bool:
    """Whether `path` is one of the server-rendered pages (`/staff`, `/me` and below)."""
    return any(path == p or path.startswith(p + "/") for p in _PAGES)


def refused(scope: Scope) -> tuple[str, list[str]] | None:
    """A page request's refused URL: where the NUL was ("path" or "query") and, for the
    query, the parameters holding it (as the address shows them); None when nothing was."""
    return scope.get(REFUSED)


_GOT = {b"\x00": "a NUL character (U+0000)", b"\\u0000": "a NUL character (U+0000)",
        b"%00": "a NUL character (U+0000)"}


def _found(match: bytes) -> str:
    """What came, in words: a NUL, or an unpaired surrogate (and which)."""
    return _GOT.get(match) or f"an unpaired surrogate ({match.decode('latin-1')})"


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
    def _answer(where: str, loc: list[str | int] | None = None,
                got: str = "a NUL or an unpaired surrogate",
                ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """A path holding a NUL names nothing that exists: 404. In the query string or the
        body: 422 invalid_request, its error item naming where (with `loc`, the field after
        `where`, as pydantic's loc would: `["body", "statement"]`; for the query, `loc`
        lists the parameters, one item each: `["query", "q"]`), what came and the fix."""
        if where == "path":
            status, body = 404, error_body("not_found", "No such resource: the path holds a "
                                           "NUL character (U+0000).")
        elif where == "query":  # each parameter holding it, as a query error is located
            items = [field_error(["query", *name], "invalid_text", "text without NUL "
                                 "characters (U+0000)", _GOT[b"%00"],
                                 fix=f"Remove the NUL character (%00) from "
                                 f"{short(str(name[0])) if name else 'the query string'}, "
                                 "or leave the parameter out, and send the request again.")
                     for name in ([[n] for n in loc] if loc else [[]])]
            status, body = 422, error_body(
                "invalid_request", "A query parameter holds a NUL character (U+0000), which "
                "no text can hold; remove it and send the request again.",
                fields=sorted({i.field for i in items}), errors=items)
        else:
            item = field_error([where, *(loc or ())], "invalid_text", "text without NUL "
                               "characters or unpaired surrogates", got, fix=DETAIL,
                               field=None if loc else where)
            status, body = 422, error_body("invalid_request", DETAIL, fields=[item.field],
                                           errors=[item])
        raw = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(raw)).encode()),
                   (b"connection", b"close"),
                   (b"cache-control", b"no-store")]
        return status, headers, raw

    @staticmethod
    async def _send(send: Send, answer: tuple[int, list[tuple[bytes, bytes]], bytes]) -> None:
        status, headers, raw = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw, "more_body": False})

    async def _refuse(self, send: Send, where: str = "body") -> None:
        await self._send(send, self._answers[where])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = bad_url(scope)
        if where is not None:
            query = scope.get("query_string", b"")
            if not is_page(scope.get("path", "")):
                if where == "query":
                    await self._send(send, self._answer(where, query_params(query)))
                else:
                    await self._refuse(send, where)
                return
            # a page: its route answers the refusal in HTML, in the person's language; the
            # parameters holding the NUL go no further (nor into the page's links, as its
            # other language's), the others stay for the refusal page to read (`lang`)
            scope = {**scope, REFUSED: (where, query_names(query) if where == "query" else []),
                     "query_string": query_kept(query)}
        pattern = _JSON_BAD
        form = typed = False
        for name, value in scope.get("headers", ()):
            if name == b"content-encoding" and value.strip().lower() not in (b"", b"identity"):
                await self._send(send, self._encoded(value.strip()))
                return
            if name == b"content-type" and not typed:  # the first, as Starlette reads it
                typed = True
                form = value.startswith(b"application/x-www-form-urlencoded")
        if form:
            if is_page(scope.get("path", "")):  # the page's form refuses it, as a page
                await self.app(scope, receive, send)
                return
            pattern = _FORM_BAD

        tail = b""
        passed: list[bytes] = []  # the chunks so far, by reference: read back on a match only
        size = 0  # their length
        match = b""
        at = 0  # where in the body the match starts

        def bad(chunk: bytes, final: bool) -> bool:
            """A match starting in this chunk's decidable part: the bytes after those the
            last call decided, up to the last `_LOOKAHEAD` (unless this chunk is the last)."""
            nonlocal tail, size, match, at
            buf = tail + chunk
            start = size - len(tail)  # where in the body `buf` starts
            decided = max(0, len(tail) - _LOOKAHEAD)  # kept only as look-behind context
            tail = buf[-(_LOOKAHEAD + _CONTEXT):]
            passed.append(chunk)
            size += len(chunk)
            if b"\x00" in buf or b"\\u" in buf or b"%00" in buf:
                limit = len(buf) if final else len(buf) - _LOOKAHEAD
                for m in pattern.finditer(buf):
                    if decided <= m.start() < limit:
                        match, at = m.group(), start + m.start()
                        return True
            if final:
                passed.clear()  # read to its end without a match: nothing is kept
            return False

        async def refuse(send: Send) -> None:
            """422 naming the field the refused text is in (the body when none holds it)."""
            prefix = b"".join(passed)[:at]
            loc = form_loc(prefix) if form else json_loc(prefix)
            await self._send(send, self._answer("body", loc, _found(match)))

        await watch_body(self.app, scope, receive, send, bad, refuse)
