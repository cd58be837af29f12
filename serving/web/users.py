"""The staff administration page (admin): list, create, deactivate, rotate a token, change
a role, through `serving.staff.service` (the same rules and audit as the API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from serving.auth.principal import Principal
from serving.deps import SessionDep
from serving.errors import DomainError, InvalidInput
from serving.staff import service as staff
from serving.system.schemas import CreateUserRequest
from serving.web.core import (
    AdminPage,
    PageRoute,
    flash,
    form_body,
    form_keeping,
    page_lang,
    render,
)
from serving.web.i18n import translator

router = APIRouter(route_class=PageRoute, include_in_schema=False)
# the new member's name is shown again as typed, its error by it (a NUL too: `form_body`)
UsersForm = Annotated[FormData, Depends(form_keeping("name"))]


def _page(request: Request, principal: Principal, session: Session, token: str | None = None,
          status: int = 200, typed: dict[str, str] | None = None,
          errors: dict[str, str] | None = None) -> Response:
    """The page; `typed` and `errors`: the new member's form as it was posted and what
    refused it, by field (`name`, `role`), when it was refused."""
    return render(request, "staff/users.html", principal=principal,
                  users=staff.list_users(session).items, roles=staff.roles_given_by(principal),
                  new_token=token, typed=typed or {"name": "", "role": ""},
                  errors=errors or {}, status_code=status)


@router.get("/staff/users")
def users_page(request: Request, principal: AdminPage, session: SessionDep) -> Response:
    return _page(request, principal, session)


def _create(request: Request, principal: Principal, form: FormData,
            session: Session) -> Response:
    """A new member from the form: the API's body (`CreateUserRequest`) and service; a
    form either refuses is shown again as typed, the error by its field."""
    t = translator(page_lang(request))
    typed = {"name": str(form.get("name") or ""), "role": str(form.get("role") or "")}
    body, errors = form_body(CreateUserRequest, t,
                             {"name": t("s_e_name"), "role": t("s_e_role")}, **typed)
    if body is None:
        return _page(request, principal, session, status=422, typed=typed, errors=errors)
    try:
        made = staff.create(session, body.name, body.role, principal)
    except DomainError as exc:
        session.rollback()
        # the service's refusal by the field it is about: a role this admin may not give
        # (403), else the name (blank once trimmed: 422, or taken: 409)
        field = "role" if exc.status_code == 403 else "name"
        text = (t("s_e_name") if isinstance(exc, InvalidInput)
                else t("s_not_done", detail=exc.detail))
        return _page(request, principal, session, status=exc.status_code, typed=typed,
                     errors={field: text})
    flash(request, t("s_created", name=made.name, role=t("role_" + made.role)))
    return _page(request, principal, session, made.token, 201)


@router.post("/staff/users")
def users_action(request: Request, principal: AdminPage, form: UsersForm,
                 session: SessionDep) -> Response:
    action = str(form.get("action") or "")
    if action == "create":
        return _create(request, principal, form, session)
    user_id = str(form.get("user_id") or "")
    role = str(form.get("role") or "")
    t = translator(page_lang(request))
    try:
        if action == "rotate":
            out = staff.rotate_token(session, user_id, principal)
            flash(request, t("s_rotated", name=out.name))
            return _page(request, principal, session, out.token)
        if action == "deactivate":
            out = staff.deactivate(session, user_id, principal)
            flash(request, t("s_deactivated_done", name=out.name))
        elif action == "role":
            out = staff.change_role(session, user_id, role, principal)
            flash(request, t("s_role_done", name=out.name, role=t("role_" + out.role)))
        else:
            flash(request, t("s_choose_action"))
    except DomainError as exc:
        session.rollback()
        flash(request, t("s_not_done", detail=exc.detail))
    return RedirectResponse("/staff/users", status_code=303)
