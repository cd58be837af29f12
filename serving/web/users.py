"""The staff administration page (admin): list, create, deactivate, rotate a token, change
a role, through `serving.staff.service` (the same rules and audit as the API)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from serving.auth.principal import Principal
from serving.deps import SessionDep
from serving.errors import DomainError
from serving.staff import service as staff
from serving.web.core import AdminPage, Form, PageRoute, flash, page_lang, render
from serving.web.i18n import translator

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _page(request: Request, principal: Principal, session, token=None, status=200):  # noqa: ANN001, ANN202
    return render(request, "staff/users.html", principal=principal,
                  users=staff.list_users(session).items, roles=staff.roles_given_by(principal),
                  new_token=token,
                  status_code=status)


@router.get("/staff/users")
def users_page(request: Request, principal: AdminPage, session: SessionDep) -> Response:
    return _page(request, principal, session)


@router.post("/staff/users")
def users_action(request: Request, principal: AdminPage, form: Form,
                 session: SessionDep) -> Response:
    action = str(form.get("action") or "")
    user_id = str(form.get("user_id") or "")
    role = str(form.get("role") or "")
    t = translator(page_lang(request))
    try:
        if action == "create":
            made = staff.create(session, str(form.get("name") or ""), role, principal)
            flash(request, t("s_created", name=made.name, role=t("role_" + made.role)))
            return _page(request, principal, session, made.token, 201)
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
        if action == "create":  # the form answers with the refusal's status (409: name taken)
            return _page(request, principal, session, status=exc.status_code)
    return RedirectResponse("/staff/users", status_code=303)
