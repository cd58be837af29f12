from __future__ import annotations

from fastapi import APIRouter

from serving.customers import access, assisted, service
from serving.customers.schemas import (
    AccessLinkPublic,
    ContactPublic,
    ContactSet,
    CustomerSelfPublic,
    ErasurePublic,
    LinkSentPublic,
    MyPredictionPublic,
    SessionOpen,
    SessionPublic,
    SignedOut,
)
from serving.deps import (
    Admin,
    Agent,
    ClientCounted,
    CtxDep,
    CustomerDep,
    CustomerSessionDep,
    Integration,
    LinkSenders,
    SessionDep,
    SettingsDep,
    Staff,
)
from serving.disputes.schemas import DisputeCreate, DisputePublic
from serving.errors import CUSTOMER
from serving.errors import documented as err
from serving.objections.schemas import ObjectionPublic

router = APIRouter(tags=["customers"])


@router.post("/v1/customers/{customer_id}/access-link", status_code=201,
             response_model=AccessLinkPublic,
             responses={404: err("No such customer (customers appear once scored)")})
def issue_access_link(customer_id: str, principal: Integration, session: SessionDep,
                      settings: SettingsDep) -> AccessLinkPublic:
    """A link for the customer portal's own use (integration role only): used once,
    expiring. Staff never receive a customer's link: they send it (`.../send`)."""
    return service.portal_link(session, settings, customer_id, principal)


@router.post("/v1/customers/{customer_id}/access-link/send", status_code=202,
             response_model=LinkSentPublic,
             responses={404: err("No such customer"),
                        409: err("No contact address is known for this customer")})
def send_access_link(customer_id: str, principal: Staff, session: SessionDep,
                     settings: SettingsDep) -> LinkSentPublic:
    """Send the customer a fresh link at their contact address (the delivery channel);
    neither the link nor the address is returned."""
    return service.send_link(session, settings, customer_id, principal)


@router.put("/v1/customers/{customer_id}/contact", response_model=ContactPublic,
            responses={404: err("No such customer")})
def set_contact(customer_id: str, body: ContactSet, principal: Integration,
                session: SessionDep, settings: SettingsDep) -> ContactPublic:
    """Set the customer's contact address and language (integration role only)."""
    return service.set_contact(session, settings, customer_id, body, principal)


@router.post("/v1/customers/{customer_id}/access-links/revoke", response_model=dict,
             responses={404: err("No such customer")})
def revoke_access_links(customer_id: str, principal: LinkSenders, session: SessionDep,
                        settings: SettingsDep) -> dict:
    """Revoke every unused link of the customer and end their open sessions (`revoked`:
    links, `sessions_ended`: sessions)."""
    customer = service.find(session, settings, customer_id)
    revoked, ended = access.revoke_links(session, customer.customer_ref, principal)
    return {"revoked": revoked, "sessions_ended": ended}


@router.post("/v1/customers/{customer_id}/assisted/disputes", status_code=201,
             response_model=DisputePublic,
             responses={404: err("No such customer or prediction"),
                        409: err("A dispute about this prediction is already open")})
def assisted_dispute(customer_id: str, body: DisputeCreate, principal: Agent, ctx: CtxDep,
                     settings: SettingsDep) -> DisputePublic:
    """File a dispute for a customer who phoned: recorded as an assisted action under
    your name (the customer sees it, and so does the audit log)."""
    return assisted.dispute(ctx.session, settings, ctx.specs, customer_id, body, principal,
                            ctx.lang).dispute


@router.post("/v1/customers/{customer_id}/assisted/objections", status_code=201,
             response_model=ObjectionPublic, responses={404: err("No such customer")})
def assisted_objection(customer_id: str, principal: Agent, session: SessionDep,
                       settings: SettingsDep) -> ObjectionPublic:
    """Record an objection to profiling for a customer who phoned, under your name. Only
    the customer can withdraw it, in their own session."""
    return assisted.objection(session, settings, customer_id, principal)[0]


@router.post("/v1/sessions", status_code=201, response_model=SessionPublic,
             dependencies=[ClientCounted], responses={401: err("Link used, revoked or expired")})
def open_session(body: SessionOpen, session: SessionDep,
                 settings: SettingsDep) -> SessionPublic:
    """Exchange an access link for a customer session, once: the link is dead afterwards."""
    opened = access.exchange(session, settings, body.link)
    return SessionPublic(token=opened.token, expires_at=opened.expires_at)


@router.delete("/v1/sessions/current", response_model=SignedOut)
def close_session(who: CustomerSessionDep, session: SessionDep) -> SignedOut:
    """Sign out: the customer session ends now."""
    principal, token = who
    access.sign_out(session, token, principal)
    return SignedOut(signed_out=True)


@router.get("/v1/me", response_model=CustomerSelfPublic,
            responses={404: err("No record is kept about you")})
def read_me(principal: CustomerDep, session: SessionDep) -> CustomerSelfPublic:
    """The customer's own record (customer session only)."""
    return service.me(session, principal)


@router.get("/v1/me/prediction", response_model=MyPredictionPublic,
            responses={404: err("No record is kept about you"), **CUSTOMER})
def read_my_prediction(principal: CustomerDep, ctx: CtxDep) -> MyPredictionPublic:
    """Your latest prediction in plain words, the data it used and why, what it is for,
    your rights and your disputes (customer session; ?lang=fr for French)."""
    return service.my_prediction(ctx.session, ctx.specs, principal, ctx.lang)


@router.delete("/v1/customers/{customer_id}", response_model=ErasurePublic,
               responses={404: err("No such customer")})
def erase_customer(customer_id: str, principal: Admin, session: SessionDep,
                   settings: SettingsDep) -> ErasurePublic:
    """Erase everything held about a customer (features, predictions, disputes,
    decisions, tasks, objections, contact address, links, sessions, messages, the
    customer). The audit log keeps only the pseudonym and the fact of the erasure."""
    return service.erase(session, settings, customer_id, principal)
