"""Browser sessions for the web pages: a signed cookie, and a CSRF token bound to it.

The cookie holds no token: for staff, the user id (checked against the database on every
request, so revoking a user ends their sessions); for customers, the pseudonym their
access link was scoped to. It is signed (itsdangerous, HMAC) with a key derived from the
link secret, `HttpOnly`, `SameSite=Lax`, and `Secure` outside local development.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from serving import deps
from serving.auth.principal import Principal
from serving.config import Settings

COOKIE = "churn_session"
CSRF_FIELD = "csrf_token"
_SALT = "churn.web-session.v1"
ANON_MAX_AGE = 12 * 3600


def max_ages(settings: Settings) -> dict[str, int]:
    """A cookie's life by session kind, in seconds: a staff or customer cookie lives no
    longer than the server-side session it carries (`CHURN_*_SESSION_HOURS`)."""
    return {"staff": int(settings.staff_session_hours * 3600),
            "customer": int(settings.customer_session_hours * 3600), "anon": ANON_MAX_AGE}


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.link_signing_secret.encode(), b"churn web session key",
                    hashlib.sha256).digest()


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_key(settings).hex(), salt=_SALT)


@dataclass
class WebSession:
    """What a browser session knows. `kind`: anon | staff | customer."""

    sid: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    kind: str = "anon"
    role: str | None = None
    actor: str | None = None
    user_id: str | None = None
    admin: str | None = None  # sha256 of the bootstrap admin token, to notice it changed
    customer_ref: str | None = None
    token: str | None = None  # the server-side session's secret (issue 15)
    lang: str | None = None
    flash: str | None = None
    dirty: bool = False
    clear: bool = False

    def principal(self) -> Principal | None:
        if self.kind == "staff" and self.role and self.actor:
            return Principal(kind="staff", role=self.role, actor=self.actor,
                             user_id=self.user_id)
        if self.kind == "customer" and self.customer_ref:
            return Principal(kind="customer", role="customer",
                             actor=f"customer:{self.customer_ref}",
                             customer_ref=self.customer_ref)
        return None

    def renew(self, **values: Any) -> None:
        """A new identity: a new session id (so an old CSRF token stops working)."""
        lang = self.lang
        fresh = WebSession(lang=lang, **values)
        for k, v in asdict(fresh).items():
            setattr(self, k, v)
        self.dirty = True

    def set(self, **values: Any) -> None:
        for k, v in values.items():
            setattr(self, k, v)
        self.dirty = True

    def payload(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("dirty")
        data.pop("clear")
        return {k: v for k, v in data.items() if v is not None}

    def max_age(self, settings: Settings) -> int:
        ages = max_ages(settings)
        return ages.get(self.kind, ages["anon"])


def load(request: Request) -> WebSession:
    """The request's session (a fresh anonymous one when the cookie is missing or bad)."""
    settings: Settings = deps.settings(request)
    raw = request.cookies.get(cookie_name(settings))
    if raw:
        try:
            data = _serializer(settings).loads(raw, max_age=max(max_ages(settings).values()))
            sess = WebSession(**{k: v for k, v in data.items()
                                 if k in WebSession.__dataclass_fields__})
            # each kind lives as long as its own setting says
            _serializer(settings).loads(raw, max_age=sess.max_age(settings))
            return sess
        except (BadSignature, TypeError, ValueError):
            pass
    sess = WebSession()
    sess.dirty = True
    return sess


def secure_cookies(settings: Settings) -> bool:
    return settings.mode == "production" or settings.public_base_url.startswith("https://")


def cookie_name(settings: Settings) -> str:
    """`__Host-churn_session` where cookies are Secure (production, https): the browser
    then accepts it only from this host over HTTPS, for path `/`, never set by a subdomain."""
    return "__Host-" + COOKIE if secure_cookies(settings) else COOKIE


def save(request: Request, response: Any, sess: WebSession) -> None:
    settings: Settings = deps.settings(request)
    if sess.clear:
        response.delete_cookie(cookie_name(settings), path="/", httponly=True, samesite="lax",
                               secure=secure_cookies(settings))
        return
    if not sess.dirty:
        return
    value = _serializer(settings).dumps(sess.payload())
    response.set_cookie(cookie_name(settings), value, max_age=sess.max_age(settings), path="/",
                        httponly=True, samesite="lax", secure=secure_cookies(settings))


def csrf_token(settings: Settings, sess: WebSession) -> str:
    """A token only this session can present: HMAC of the session id."""
    return hmac.new(_key(settings), b"csrf:" + sess.sid.encode(), hashlib.sha256).hexdigest()


def csrf_ok(settings: Settings, sess: WebSession, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(settings, sess), presented or "")
