from __future__ import annotations

from fastapi import APIRouter

from serving.deps import Admin, SessionDep
from serving.errors import documented as err
from serving.staff import service
from serving.staff.schemas import RoleChange, StaffTokenPublic, StaffUserList, StaffUserPublic

router = APIRouter(tags=["staff"])
NO_USER = {404: err("No such staff user")}


@router.get("/v1/admin/users", response_model=StaffUserList)
def list_users(_: Admin, session: SessionDep) -> StaffUserList:
    """Every staff user, active or not (never a token)."""
    return service.list_users(session)


@router.post("/v1/admin/users/{user_id}/deactivate", response_model=StaffUserPublic,
             responses=NO_USER)
def deactivate(user_id: str, principal: Admin, session: SessionDep) -> StaffUserPublic:
    """Deactivate: the token stops working and the user's sessions end now."""
    return service.deactivate(session, user_id, principal)


@router.post("/v1/admin/users/{user_id}/rotate-token", response_model=StaffTokenPublic,
             responses=NO_USER)
def rotate(user_id: str, principal: Admin, session: SessionDep) -> StaffTokenPublic:
    """A new token (shown once); the old one and the user's sessions stop working."""
    return service.rotate_token(session, user_id, principal)


@router.put("/v1/admin/users/{user_id}/role", response_model=StaffUserPublic,
            responses=NO_USER)
def change_role(user_id: str, body: RoleChange, principal: Admin,
                session: SessionDep) -> StaffUserPublic:
    """Change the user's role (their sessions end)."""
    return service.change_role(session, user_id, body.role, principal)
