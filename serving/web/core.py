"""Page plumbing: templates, the page route class (session cookie, security headers,
HTML error pages), who may open a page, CSRF-checked forms, language choice."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.wording import shown_percent
from serving import deps
from serving.auth import deps as auth
from serving.auth import sessions
from serving.auth.principal import Principal
from serving.auth.tokens import hash_token
from serving.auth.users import still_active
from serving.customers import access
from serving.errors import (
    DomainError,
    NotAuthenticated,
    from_validation,
    http_error,
    request_errors,
)
from serving.scoring import reference
from serving.system import textguard
from serving.web import session as websession
from serving.web.i18n import LANGS, pick_lang, text_lang, translator
from serving.web.session import WebSession

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
B = TypeVar("B", bound=BaseModel)

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


@pass_context
def _fmt_pct(ctx: Any, value: float | None) -> str:
    """A probability in whole percent, never 0 % nor 100 % (`models.wording`)."""
    return "" if value is None else shown_percent(float(value), ctx.get("lang", "en"))


def _fmt_dt(value: Any, lang: str = "en") -> str:
    if value is None:
        return ""
    if lang == "fr":
        return value.strftime("%d/%m/%Y %H:%M UTC")
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _fmt_date(value: Any, lang: str = "en") -> str:
    if value is None:
        return ""
    return value.strftime("%d/%m/%Y") if lang == "fr" else value.strftime("%Y-%m-%d")


def _signed(value: float) -> str:
    return f"{value:+.2f}".replace("-", "\u2212")


templates.env.filters["pct"] = _fmt_pct
templates.env.filters["dt"] = _fmt_dt
templates.env.filters["date"] = _fmt_date
templates.env.filters["signed"] = _signed
# what a call is expected to be worth, in words (uplift targeting, issue 17)
templates.env.globals["call_value_text"] = lambda cv, lang: _views().call_value(cv, lang)


def _views():  # noqa: ANN202 - imported late: views imports this module's neighbours
    from serving.web import views

    return views
# the language a person's free text is written in, to mark it (lang=) where it is shown
templates.env.globals["text_lang"] = text_lang


# -- errors ---------------------------------------------------------------------------------
class PageError(Exception):
    """Shown as an HTML page that says what happened and what to do."""

    def __init__(self, status: int, title: str, text: str | None = None,
                 detail: str | None = None, link: tuple[str, str] | None = None):
        super().__init__(title)
        self.status = status
        self.title = title
        self.text = text
        # the service's own words: English (error.html marks them so on a French page)
        self.detail = detail
        self.link = link  # (url, label): where to go from here, when there is a place


# every status a service refuses with, worded in both languages (title, text)
_DOMAIN_PAGES = {
    400: ("err_400_title", "err_400_text"),
    401: ("err_401_title", None),
    403: ("err_403_title", "err_403_text"),
    404: ("err_404_title", "err_404_text"),
    409: ("err_409_title", "err_409_text"),
    422: ("err_422_title", "err_422_text"),
    429: ("err_429_title", "err_429_text"),
    501: ("err_501_title", "not_available"),
    503: ("err_503_title", "err_503_text"),
}
_OTHER_PAGE = ("err_other_title", "err_500_text")


def _from_domain(request: Request, exc: DomainError) -> PageError:
    """A service's refusal as a page in the page's language (the service's own words
    only where they add something: not for 404 and 429, nor where the page says it all)."""
    t = translator(page_lang(request))
    title, text = _DOMAIN_PAGES.get(exc.status_code, _OTHER_PAGE)
    detail = None if exc.status_code in (404, 429) else exc.detail
    link = None
    if exc.status_code == 409 and exc.extra.get("dispute_id") and is_customer_path(
            request.url.path):
        # a customer sending a second request while the first is reviewed (issue 16)
        text, detail = "err_409_dispute_open", None
        link = (f"/me/disputes/{exc.extra['dispute_id']}", t("view_status"))
    return PageError(exc.status_code, t(title), t(text) if text else None, detail, link)


def _quoted(lang: str, names: list[str]) -> str:
    """Names as the page's language quotes them: “q”, “band” / « q », « band »."""
    return ", ".join(("« {} »" if lang == "fr" else "“{}”").format(n) for n in names)


def _refused_url(request: Request, where: str, names: list[str]) -> PageError:
    """A page address the text guard refused (`serving.system.textguard`): a NUL in the
    path names no page (404); in the query, 422 naming the parameters that held it, what
    they should hold and the fix, in the page's language (`?lang=` honoured: the guard
    keeps the parameters it did not refuse)."""
    lang = page_lang(request)
    t = translator(lang)
    if where == "path":
        return PageError(404, t("err_404_title"), t("err_404_text"))
    return PageError(422, t("err_422_title"), t("err_text_query", names=_quoted(lang, names)))


def _refused_form(request: Request, names: list[str]) -> PageError:
    """A page form holding a NUL in fields the page does not show again (its own hidden
    fields, a choice, a token): 422 naming them, what came and the fix, in the page's
    language; what came is said, never shown."""
    lang = page_lang(request)
    t = translator(lang)
    return PageError(422, t("err_422_title"), t("err_text_form", names=_quoted(lang, names)))


def _refused_values(request: Request, exc: RequestValidationError) -> str:
    """A page's refused query or path values in the service's words: each one's name,
    what was expected and what came (`serving.errors.request_errors`)."""
    return " ".join(f"{e.field}: {e.expected.rstrip('.')} (it was {e.got})."
                    for e in request_errors(request, exc))


def is_customer_path(path: str) -> bool:
    return path == "/me" or path.startswith("/me/")


def error_page(request: Request, exc: PageError, customer_side: bool | None = None) -> Response:
    """The error page; `customer_side`: the customer's look and way back (/me), by
    default for the customer's addresses (/me...)."""
    if customer_side is None:
        customer_side = is_customer_path(request.url.path)
    return render(request, "error.html", status_code=exc.status, error=exc,
                  customer_side=customer_side,
                  sign_in=f"/staff/sign-in?next={quote(request.url.path)}")


def _finish(request: Request, response: Response, sess: WebSession) -> Response:
    """A page's answer as it leaves: its session saved, the pages' security headers."""
    websession.save(request, response, sess)
    h = response.headers
    h["Content-Security-Policy"] = CSP
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    h["X-Frame-Options"] = "DENY"
    h["Cache-Control"] = "no-store"
    return response


def wants_page(request: Request) -> bool:
    """Whether a request is a person's browser asking for a page: not the JSON API
    (/v1/...), and HTML among what it accepts (`Accept: text/html`, not at quality 0).
    API clients (`*/*`, `application/json`, no Accept) are not."""
    if request.url.path == "/v1" or request.url.path.startswith("/v1/"):
        return False
    for part in request.headers.get("accept", "").split(","):
        kind, *params = (p.strip().lower() for p in part.split(";"))
        if kind in ("text/html", "application/xhtml+xml"):
            q = next((p[2:] for p in params if p.startswith("q=")), "1")
            try:
                return float(q) > 0
            except ValueError:
                return True
    return False


async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
    """An address that names nothing (the framework's 404: no route, no static file): a
    browser reads a page in its language with a way back, on its side (a customer's
    session or address: their page; else the staff start, which sends a stranger to
    sign in); everyone else the JSON API's error body (`serving.errors.http_error`)."""
    if exc.status_code != 404 or not wants_page(request):
        return await http_error(request, exc)
    sess = websession.load(request)
    request.state.web = sess
    t = translator(page_lang(request))
    path = request.url.path
    customer_side = is_customer_path(path) or (
        sess.kind == "customer" and not (path == "/staff" or path.startswith("/staff/")))
    try:
        response = error_page(request, PageError(404, t("err_404_title"),
                                                 t("err_404_address")), customer_side)
    except Exception:  # noqa: BLE001 - the page itself failed: the API's answer, logged
        log.exception("not-found page %s failed", path)
        return await http_error(request, exc)
    return _finish(request, response, sess)


class PageRoute(APIRoute):
    """A page: loads the session before the handler, saves it after, turns errors into
    HTML pages and adds the security headers."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            sess = websession.load(request)
            request.state.web = sess
            refused = textguard.refused(request.scope)
            try:
                if refused is not None:  # before the handler: nothing reads such text
                    raise _refused_url(request, *refused)
                response = await handler(request)
            except PageError as exc:
                response = error_page(request, exc)
            except DomainError as exc:
                if exc.code == "not_available":  # a service that does not exist yet
                    t = translator(page_lang(request))
                    exc = PageError(501, t("err_501_title"), t("not_available"), exc.detail)
                    response = error_page(request, exc)
                else:
                    response = error_page(request, _from_domain(request, exc))
            except RequestValidationError as exc:
                # a malformed query or path on a page: the page's words, not the API's JSON,
                # and the service's own naming each value (what was expected, what came)
                t = translator(page_lang(request))
                response = error_page(request, PageError(422, t("err_422_title"),
                                                         t("err_422_text"),
                                                         _refused_values(request, exc)))
            except StarletteHTTPException:
                raise  # 404 of an unknown path (`not_found`), 405: the app's own answers
            except Exception:
                # a fault of ours: logged with its traceback, the person gets a page in their
                # language (never a traceback nor the API's JSON)
                log.exception("page %s failed", request.url.path)
                t = translator(page_lang(request))
                response = error_page(request, PageError(500, t("err_other_title"),
                                                         t("err_500_text")))
            return _finish(request, response, sess)

        return page


# -- rendering ------------------------------------------------------------------------------
def web(request: Request) -> WebSession:
    return request.state.web


def page_lang(request: Request) -> str:
    """`?lang=` (remembered in the session), else the session's, else Accept-Language."""
    sess = web(request)
    asked = request.query_params.get("lang")
    if asked in LANGS:
        if sess.lang != asked:
            sess.set(lang=asked)
        return asked
    if sess.lang in LANGS:
        return sess.lang  # type: ignore[return-value]
    return pick_lang(request.headers.get("accept-language"))


def _served_reference(request: Request) -> list[float] | None:
    """The served model's reference scores (None: no model loaded, or none kept)."""
    host = request.app.state.host
    return host.current().spec.reference_scores if host.ready else None


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    sess = web(request)
    lang = context.pop("lang", None) or page_lang(request)
    settings = deps.settings(request)
    other = "fr" if lang == "en" else "en"
    ctx = {
        "lang": lang,
        "other_lang": other,
        # the same page in the other language (its other query parameters kept)
        "lang_url": request.url.path + "?" + urlencode(
            [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
            + [("lang", other)]),
        "t": translator(lang),
        "sess": sess,
        "principal": sess.principal(),
        "csrf": Markup(
            f'<input type="hidden" name="{websession.CSRF_FIELD}" '
            f'value="{websession.csrf_token(settings, sess)}">'
        ),
        "flash": sess.flash,
        # words beside a score: "very high, higher than 9 in 10 customers"
        "likelihood": reference.wording_for(request.app.state.db,
                                            lambda: _served_reference(request), lang),
        **context,
    }
    if sess.flash:
        sess.set(flash=None)
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def flash(request: Request, message: str) -> None:
    web(request).set(flash=message)


# -- who may open a page --------------------------------------------------------------------
def _still_valid(request: Request, sess: WebSession) -> bool:
    settings = deps.settings(request)
    with deps.database(request).engine.connect() as conn:
        if not sessions.staff_live(conn, sess.token):  # signed out, revoked or expired
            return False
    if sess.actor == auth.ADMIN.actor:
        return settings.admin_token is not None and sess.admin == hash_token(
            settings.admin_token.get_secret_value())
    if not sess.user_id or not sess.role:
        return False
    with deps.database(request).session() as s:
        return still_active(s, sess.user_id, sess.role)


def staff_page(*roles: str) -> Callable[[Request], Principal]:
    """Staff signed in with one of `roles` (admin always); a customer gets 403."""

    def dependency(request: Request) -> Principal:
        sess = web(request)
        t = translator(page_lang(request))
        if sess.kind == "customer":
            raise PageError(403, t("err_403_title"), t("err_403_customer"))
        principal = sess.principal()
        if principal is None or not _still_valid(request, sess):
            if sess.kind == "staff":
                sess.renew()
            raise PageError(401, t("err_401_title"), t("err_401_staff"))
        if not principal.has_role(*roles):
            wanted = f" {t('or')} ".join(t("role_" + r) for r in roles)
            raise PageError(403, t("err_403_title"), t("err_403_staff"),
                            t("err_403_role", roles=wanted, role=t("role_" + principal.role)))
        return principal

    dependency.__name__ = f"staff_page_{'_'.join(roles)}"
    return dependency


def customer_page(request: Request) -> Principal:
    """The customer of this session (rate limited like the customer API); staff get 403."""
    sess = web(request)
    t = translator(page_lang(request))
    limits = deps.limits(request)
    count_client(request)
    if sess.kind == "staff":
        raise PageError(403, t("err_403_title"), t("err_403_staff_only"))
    principal = None
    if sess.kind == "customer" and sess.token:
        with deps.database(request).engine.connect() as conn:
            principal = access.customer_principal(conn, sess.token)
    if principal is None:
        if sess.kind == "customer":
            sess.renew()  # the session ended (signed out, revoked, erased)
        raise PageError(401, t("err_401_title"), t("err_401_customer"))
    auth.count_link(limits, "web:" + sess.sid)  # a RateLimited error: the 429 page
    return principal


def count_client(request: Request) -> None:
    """One more customer-side request from this address (429 page past the limit)."""
    auth.count_client(deps.limits(request), deps.client(request))


def nul_errors(t: Callable[..., str], **fields: Any) -> dict[str, str]:
    """The typed fields holding a NUL character (which no text can keep, and the JSON
    API's edge refuses in any body), each with what came and the fix, in the page's
    language: for a form shown again as typed, the error by its field."""
    return {name: t("e_text") for name, value in fields.items()
            if isinstance(value, str) and textguard.refused_in_form(value)}


def form_body(model: type[B], t: Callable[..., str], words: dict[str, str],
              **fields: Any) -> tuple[B | None, dict[str, str]]:
    """The API's request body from a form's fields, or (None and) the errors its rules
    give, by field, in the page's language: a form applies the schema's rules, not a copy
    of them. `words`: what a field needs, in the page's language (a choice among those
    offered, a reason long enough), said for any of its errors but a text too long, which
    says the limit and the length counted, and a NUL character (`nul_errors`: the API
    refuses it at its edge, before its schema)."""
    errors = nul_errors(t, **fields)
    try:
        body = model(**fields)
    except ValidationError as exc:
        raw = exc.errors()
    else:
        return (None, errors) if errors else (body, {})
    for e, item in zip(raw, from_validation(raw, prefix=("body",)), strict=True):
        name = str(e["loc"][0]) if e["loc"] else "form"
        if e["type"] == "string_too_long":  # the length the rule counted (PersonText's)
            text = t("e_too_long", n=(e.get("ctx") or {}).get("max_length"),
                     m=len(e.get("input") or ""))
        elif name in words:
            text = words[name]
        else:
            text = _views().message(item, t)
        errors.setdefault(name, text)
    return None, errors


def _typed(name: str, typed: Collection[str]) -> bool:
    """Whether `name` is among `typed` (a name ending in "*" stands for those it begins)."""
    return any(name == k or (k.endswith("*") and name.startswith(k[:-1])) for k in typed)


async def _read_form(request: Request, typed: Collection[str]) -> FormData:
    """The posted form, refused (403) unless it carries this session's CSRF token, and
    (422, `_refused_form`) when a field other than `typed` holds a NUL character in its
    name or value: the text guard lets page forms through for the page to answer
    (`serving.system.textguard`), so no handler reads such text but the typed fields it
    shows again, refusing it there by field (`form_body`, `nul_errors`)."""
    form = await request.form()
    sess = web(request)
    presented = form.get(websession.CSRF_FIELD)
    if not isinstance(presented, str) or not websession.csrf_ok(
            deps.settings(request), sess, presented):
        t = translator(page_lang(request))
        raise PageError(403, t("err_csrf_title"), t("err_csrf_text"))
    refused: list[str] = []
    for name, value in form.multi_items():
        in_name = textguard.refused_in_form(name)
        in_value = isinstance(value, str) and textguard.refused_in_form(value)
        if in_name or (in_value and not _typed(name, typed)):
            shown = name.replace("\x00", "%00")
            shown = shown[:40] + ("…" if len(shown) > 40 else "")
            if shown not in refused:
                refused.append(shown)
    if refused:
        raise _refused_form(request, refused)
    return form


async def checked_form(request: Request) -> FormData:
    """The posted form (`_read_form`): any field holding a NUL is refused with a page."""
    return await _read_form(request, ())


checked_form.reads_page_form = True  # type: ignore[attr-defined]


def form_keeping(*typed: str) -> Callable[[Request], Awaitable[FormData]]:
    """`checked_form` for a page that shows its form again as typed
    (`Annotated[FormData, Depends(form_keeping("note"))]`): its `typed` fields (a name
    ending in "*" for those it begins) reach the handler even holding a NUL, for it to
    refuse by field with the text kept (`form_body`, `nul_errors`); any other field
    holding one is refused with a page, as `Form` does."""

    async def dependency(request: Request) -> FormData:
        return await _read_form(request, typed)

    dependency.__name__ = "form_keeping_" + "_".join(typed)
    dependency.reads_page_form = True  # type: ignore[attr-defined]
    return dependency


def staff_sign_in(request: Request, token: str) -> bool:
    """Exchange a staff token for a staff session; False when the token is not valid."""
    sess = web(request)
    token = token.strip()
    if not token:
        return False
    if auth.is_admin_token(token, deps.settings(request)):
        with deps.database(request).session() as s:
            secret = sessions.open_staff(s, auth.ADMIN,
                                         deps.settings(request).staff_session_hours)
        sess.renew(kind="staff", role="admin", actor=auth.ADMIN.actor,
                   admin=hash_token(token), token=secret)
        return True
    with deps.database(request).session() as s:
        principal = auth.staff_by_token(s, token)
        if principal is None:
            return False
        secret = sessions.open_staff(s, principal, deps.settings(request).staff_session_hours)
    sess.renew(kind="staff", role=principal.role, actor=principal.actor,
               user_id=principal.user_id, token=secret)
    return True


def sign_out(request: Request) -> None:
    """End this browser's session: the server-side row is revoked, the cookie cleared."""
    sess = web(request)
    if sess.token:
        with deps.database(request).session() as s:
            # audited under whoever signs out, as the API's sign-out is
            if sess.kind == "staff":
                sessions.close(s, sess.token, sess.principal())
            elif sess.kind == "customer":
                access.sign_out(s, sess.token, sess.principal())
    sess.set(clear=True)


def exchange_link(request: Request, token: str) -> bool:
    """A customer's link exchanged (once) for a page session; False when not valid."""
    count_client(request)  # failed attempts count too: no guessing links
    try:
        with deps.database(request).session() as s:
            opened = access.exchange(s, deps.settings(request), token)
    except NotAuthenticated:
        return False
    web(request).renew(kind="customer", customer_ref=opened.customer_ref, token=opened.token)
    return True


def safe_next(value: str | None, default: str) -> str:
    """Only a local path (never another site) is followed after sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


# -- what a page is given ---------------------------------------------------------------------
CustomerPage = Annotated[Principal, Depends(customer_page)]
# who may open each staff page, named once here as serving/deps.py names the API's (an admin
# may open them all; tests/serving/web/test_page_roles.py holds the table)
AgentPage = Annotated[Principal, Depends(staff_page("agent"))]
ReviewerPage = Annotated[Principal, Depends(staff_page("reviewer"))]
AdminPage = Annotated[Principal, Depends(staff_page("admin"))]
StaffPage = Annotated[Principal, Depends(staff_page("agent", "reviewer"))]
DashboardPage = Annotated[Principal, Depends(staff_page("reviewer"))]
AnalyticsPage = Annotated[Principal, Depends(staff_page("reviewer", "auditor"))]
CompliancePage = Annotated[Principal, Depends(staff_page("reviewer", "auditor"))]
Form = Annotated[FormData, Depends(checked_form)]
