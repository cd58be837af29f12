"""Run an ASGI app while watching its request body as it streams: the first chunk that
`refused` rejects ends the request with `answer` (unless the app already began its own),
and the app is told the client left. Nothing is buffered. Shared by the body-size cap and
the text guard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def watch_body(app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                     refused_by: Callable[[bytes, bool], bool],
                     answer: Callable[[Send], Awaitable[None]]) -> None:
    """`refused_by(chunk, last)` says whether a body chunk ends the request."""
    refused = False  # the refusal went out: the app is told the client left
    started = False  # the app began its own answer (too late to refuse)

    async def watched_receive() -> Message:
        nonlocal refused
        if refused:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request" and refused_by(
                message.get("body", b""), not message.get("more_body", False)):
            refused = True
            if not started:
                await answer(send)
            return {"type": "http.disconnect"}
        return message

    async def guarded_send(message: Message) -> None:
        nonlocal started
        if refused:
            return  # the client already has its answer
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(scope, watched_receive, guarded_send)
    except Exception:
        if not refused:
            raise
        # the app failed on the body it never got (the client "left"): already answered
