"""NUL characters and unpaired surrogates are refused at the edge (422; 404 for a NUL in a
path, which names nothing), on SQLite and PostgreSQL alike (PostgreSQL cannot store them:
they used to be 500s from whichever statement met them), wherever they are: path, query
string, JSON body, form body; split across the chunks of a streamed body too. Valid text
(surrogate pairs included) passes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from serving.system.textguard import TextGuard
from tests.serving.conftest import ADMIN_TOKEN, bearer

ADMIN = bearer(ADMIN_TOKEN)


class Recorder:
    """A bare ASGI app: reads the whole body, answers 200."""

    def __init__(self) -> None:
        self.body = b""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            self.body += message.get("body", b"")
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def run(chunks: list[bytes], path: str = "/v1/x", query: bytes = b"",
        content_type: bytes = b"application/json") -> tuple[int, bytes, Recorder]:
    app = Recorder()
    guard = TextGuard(app)
    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
             "query_string": query, "headers": [(b"content-type", content_type)]}
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
               for i, c in enumerate(chunks)] or [{"type": "http.request", "body": b""}]
    sent: list[dict] = []

    async def receive() -> dict:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent
                            if m["type"] == "http.response.body"), app


def js(value: Any) -> bytes:
    return json.dumps(value).encode()  # ensure_ascii: "\ud800" becomes the escape


@pytest.mark.parametrize(("body", "loc", "got"), [
    (js({"name": "a\x00b"}), ["body", "name"], "a NUL character (U+0000)"),
    (js({"name": "\ud800"}), ["body", "name"], "an unpaired surrogate (\\ud800)"),
    (js({"name": "x\udfff"}), ["body", "name"], "an unpaired surrogate (\\udfff)"),
    (js({"a\ud800": 1}), ["body"], "an unpaired surrogate (\\ud800)"),  # a key: its object
    (js(["ok", "\ud83d"]), ["body", 1], "an unpaired surrogate (\\ud83d)"),
    (b'{"name": "a\x00b"}', ["body", "name"], "a NUL character (U+0000)"),
    (js("\x00"), ["body"], "a NUL character (U+0000)"),
    (b'{"a": 1,\x00 "b": 2}', ["body"], "a NUL character (U+0000)"),  # in no field
    (js([{"customer_id": "c1", "features": {"plan": "x", "note": "a\x00"}}]),
     ["body", 0, "features", "note"], "a NUL character (U+0000)"),
    (js({"a": [], "b": {"c": [[1, "x"], ["y", "z\x00"]], "d": "\x00"}}),
     ["body", "b", "c", 1, 1], "a NUL character (U+0000)"),
    (js({'q"uo\\ted\u00e9': "x\x00"}), ["body", 'q"uo\\ted\u00e9'], "a NUL character (U+0000)"),
    (b'{"s": "\\\\u0000"}', ["body", "s"], "a NUL character (U+0000)"),  # as text
])
def test_bad_text_in_a_json_body_is_422_naming_its_field(body, loc, got):
    """The error item names the field as pydantic's loc would ("body" when no field holds
    it), with what was expected, what came and the fix."""
    status, answer, app = run([body])
    assert status == 422
    body = json.loads(answer)
    assert body["error"] == "invalid_request", body
    (item,) = body["errors"]
    assert item["problem"] == "invalid_text" and item["loc"] == loc, item
    field = ".".join(str(p) for p in loc[1:]) or "body"
    assert body["fields"] == [field] and item["field"] == field
    assert item["got"] == got and "NUL" in item["expected"] and "remove it" in item["fix"]


@pytest.mark.parametrize("split", range(1, 40))
def test_the_field_is_named_whichever_chunk_it_came_in(split):
    body = js({"a": ["x", {"b": "y"}], "stmt": "abc\x00", "z": 1})
    status, answer, app = run([body[:split], body[split:]])
    assert status == 422 and json.loads(answer)["errors"][0]["loc"] == ["body", "stmt"]
    form = b"csrf_token=abc&reason=ab+c&note=abc%00def"
    status, answer, app = run([form[:split], form[split:]],
                              content_type=b"application/x-www-form-urlencoded")
    assert status == 422 and json.loads(answer)["errors"][0]["loc"] == ["body", "note"]


@pytest.mark.parametrize("body", [
    js({"name": "Zoë 😀 中文"}), js({"name": "plain"}), js(["😀", "😀😀", "a😀"]),
    js({"note": "100%00 sure"}),  # %00 is text in JSON
])
def test_valid_text_passes_untouched(body):
    status, _, app = run([body])
    assert status == 200 and app.body == body


@pytest.mark.parametrize("split", range(1, 14))
def test_patterns_split_across_chunks(split):
    pair = js({"name": "😀"})  # {"name": "\ud83d\ude00"}
    at = pair.index(b"\\ude00") - 6 + split
    status, _, app = run([pair[:at], pair[at:]])
    assert status == 200 and app.body == pair
    nul = js({"name": "ab\x00"})
    at = nul.index(b"\\u0000") + split % 6
    assert run([nul[:at], nul[at:]])[0] == 422
    lone = js({"name": "\ud83dx"})
    at = lone.index(b"\\ud83d") + split % 6
    assert run([lone[:at], lone[at:]])[0] == 422


def test_url_and_form():
    assert run([b""], path="/v1/predictions/a\x00b")[0] == 404  # names nothing
    assert run([b""], query=b"q=a%00b")[0] == 422
    assert run([b"note=a%00b"], content_type=b"application/x-www-form-urlencoded")[0] == 422
    assert run([b"note=a%20b"], content_type=b"application/x-www-form-urlencoded")[0] == 200


# -- the real app, on both databases --------------------------------------------------------
def test_no_500_from_nul_or_surrogates_on_either_database(client, customers):
    item = customers[0]
    as_json = ADMIN | {"content-type": "application/json"}
    for r in (client.get("/v1/predictions/a%00b", headers=ADMIN),
              client.post("/v1/retention-tasks/a%00b/claim", headers=ADMIN),
              client.delete("/v1/customers/a%00b", headers=ADMIN)):
        assert r.status_code == 404 and r.json()["error"] == "not_found", r.text
    cases = [
        client.get("/v1/risk-list", params={"band": "high", "q": "a\x00b"}, headers=ADMIN),
        client.post("/v1/admin/users", content=js({"name": "a\x00b", "role": "agent"}),
                    headers=as_json),
        client.post("/v1/admin/users", content=js({"name": "a\ud800", "role": "agent"}),
                    headers=as_json),
        client.post("/v1/predictions", content=js(item | {"customer_id": "a\x00b"}),
                    headers=as_json),
        client.post("/v1/predictions", content=js(item | {"customer_id": "\udc00"}),
                    headers=as_json),
    ]
    for r in cases:
        assert r.status_code == 422, (r.request.url, r.status_code, r.text)
        assert r.json()["errors"][0]["problem"] == "invalid_text", r.text
    ok = client.post("/v1/predictions", json=item | {"customer_id": "Zoë-😀"}, headers=ADMIN)
    assert ok.status_code == 201, ok.text
    assert client.get(f"/v1/predictions/{ok.json()['prediction_id']}",
                      headers=ADMIN).status_code == 200


def test_a_compressed_body_is_refused_for_its_encoding_not_as_a_nul(client):
    """A gzip body used to be refused as holding a NUL character (its compressed bytes)."""
    import gzip
    import json

    from tests.serving.conftest import ADMIN_TOKEN, bearer

    body = gzip.compress(json.dumps({"name": "gz", "role": "agent"}).encode())
    for path in ("/v1/admin/users", "/v1/predictions"):
        r = client.post(path, content=body, headers=bearer(ADMIN_TOKEN) | {
            "Content-Type": "application/json", "Content-Encoding": "gzip"})
        assert r.status_code == 415, r.text
        (error,) = r.json()["errors"]
        assert error["got"] == "Content-Encoding gzip" and "uncompressed" in error["fix"]
        assert "NUL" not in r.text
    r = client.post("/v1/admin/users", json={"name": "plain", "role": "agent"},
                    headers=bearer(ADMIN_TOKEN) | {"Content-Encoding": "identity"})
    assert r.status_code == 201, r.text
