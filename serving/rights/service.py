"""Rights requests as tracked cases (GDPR Arts. 12 and 15-21), issue 18.

A customer (through their own session) or a member of staff for a customer who phoned
(an assisted action) opens a request: access, erasure, rectification outside a dispute,
restriction or objection. Each request is a case with a one-month deadline from receipt,
extensible once by two further months with a reason the customer is told (Art. 12(3)), a
status, a handler and an outcome, and every step is audited (pseudonymous: ids and enums
only, never the customer's words).

How each kind is carried out, reusing the flows that already own the rules:

- objection: at once, through the objection service (its notice tells the customer);
- restriction: at once, through the dispute flow: a dispute of the latest prediction in
  use, with the customer's words as its statement, restricts the record until a reviewer
  decides (no prediction in use: nothing is used about them; a person answers);
- access: the customer downloads their copy from their page at once (recorded as a
  request answered the same day); by phone, a person closes it and the closing notice
  brings a link to the page where the copy is;
- erasure: by a person (closing it as done), or automatically `CHURN_ERASURE_WAIT_DAYS`
  after it was asked (`rights-due`), through the erasure service; the customer may cancel
  it meanwhile;
- rectification outside a dispute: by a person, who says what was corrected.

The customer is told at opening, at an extension and at closing, through the outbox, in
their language; one notice stands for both when a request is carried out as it is opened.
Time is a parameter (`now`) of every rule, so tests control it.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.auth.users import display_names
from serving.config import Settings
from serving.customers import service as customers
from serving.delivery import notices
from serving.disputes import service as disputes
from serving.disputes.schemas import DisputeCreate
from serving.errors import Conflict, Forbidden, NotFound, must_find
from serving.objections import service as objections
from serving.rights.schemas import (
    DueRun,
    RightsClose,
    RightsExtend,
    RightsRequestCreate,
    RightsRequestList,
    RightsRequestPublic,
)
from serving.specs import SpecCache
from serving.storage import access as contacts
from serving.storage import rights as store
from serving.storage.db import write_lock
from serving.storage.tables import RIGHTS_OPEN_STATUSES, Customer, Erasure, RightsRequest

# audit actions (ids and enums only)
OPENED = "rights.opened"
TAKEN = "rights.taken"
EXTENDED = "rights.extended"
CLOSED = "rights.closed"
CANCELLED = "rights.cancelled"
COPY_DOWNLOADED = "rights.copy_downloaded"
SYSTEM = "system:rights-due"
SELF_SERVICE = "self-service"  # the handler of what the customer's own page answered
EXTENSION_MONTHS = 2


def months_after(t: datetime, months: int) -> datetime:
    """The same time `months` calendar months later (31 Jan + 1 -> 28/29 Feb)."""
    index = t.month - 1 + months
    year, month = t.year + index // 12, index % 12 + 1
    return t.replace(year=year, month=month, day=min(t.day, calendar.monthrange(year, month)[1]))


def deadline(row: RightsRequest) -> datetime:
    """The deadline that applies: the extended one, else one month after receipt."""
    return row.extended_due_at or row.due_at


def public(session: Session, row: RightsRequest, now: datetime | None = None,
           names: dict[str, str] | None = None) -> RightsRequestPublic:
    now = now or datetime.now(UTC)
    due = deadline(row)
    is_open = row.status in RIGHTS_OPEN_STATUSES
    handler = row.handler
    if handler and names is None:
        names = display_names(session, [handler])
    return RightsRequestPublic(
        request_id=row.id, customer_ref=row.customer_ref, kind=row.kind, status=row.status,
        opened_at=row.opened_at, opened_via=row.opened_via, due_at=row.due_at,
        extended_due_at=row.extended_due_at, extension_reason=row.extension_reason,
        deadline=due, days_left=disputes.days_left(due, now), overdue=is_open and now > due,
        handler=(names or {}).get(handler, handler) if handler else None,
        closed_at=row.closed_at, outcome=row.outcome, details=row.details or "",
        carry_out_at=row.carry_out_at, related_id=row.related_id,
        answered_in_time=None if is_open or row.closed_at is None else row.closed_at <= due)


def _customer_ref(principal: Principal) -> str:
    if principal.kind != "customer" or not principal.customer_ref:
        raise Forbidden("a rights request is made by the customer, through their access link "
                        "(or for them by an agent: POST /v1/customers/{id}/assisted/"
                        "rights-requests)")
    return principal.customer_ref


def _when(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d")


def _authority(settings: Settings, lang: str) -> str:
    from serving.rights.contacts import authority  # the words of the customer page

    a = authority(settings, lang)
    return f"{a.name} ({a.url})" if a.url else a.name


def _notify(session: Session, settings: Settings, row: RightsRequest, kind: str,
            who: Principal | str, **values: str | tuple[str, ...]) -> str | None:
    """The customer is told (in their language), with a link to their page."""
    return notices.notify(session, settings, row.customer_ref, kind, who, with_link=True,
                          what=(f"right_{row.kind}",), **values)


def _lang(session: Session, ref: str) -> str:
    return contacts.contact_lang(session, ref)


# -- opening --------------------------------------------------------------------------------
def open_request(session: Session, settings: Settings, specs: SpecCache, principal: Principal,
                 body: RightsRequestCreate, *, now: datetime | None = None,
                 lang: str = "en") -> RightsRequestPublic:
    """Open a request for the customer (their session, or assisted by an agent) and carry
    out at once what can be (objection, restriction); committed before returning. A second
    open request of the same kind is refused (409, naming the open one)."""
    ref = _customer_ref(principal)
    now = now or datetime.now(UTC)
    if session.get(Customer, ref) is None:
        raise NotFound("no record is kept about you: there is nothing to ask about")
    if body.kind == "access" and principal.assisted_by is None:
        # the customer's own session has the copy at once (their page, GET /v1/me/copy)
        return copy_delivered(session, principal, now=now, downloaded=False)
    with write_lock(session):
        existing = store.open_of_kind(session, ref, body.kind)
        if existing is not None:
            session.rollback()
            raise Conflict(f"you already have an open {body.kind} request (received "
                           f"{_when(existing.opened_at)}); it is answered by "
                           f"{_when(deadline(existing))}, or cancel it on your page first",
                           request_id=existing.id)
        via = "assisted" if principal.assisted_by is not None else "customer"
        row = store.insert(
            session, customer_ref=ref, kind=body.kind, status="open", opened_at=now,
            due_at=months_after(now, 1), opened_via=via, opened_by=principal.actor,
            details=body.details.strip(), lang=lang if lang in ("en", "fr") else "en",
            carry_out_at=(now + timedelta(days=settings.erasure_wait_days)
                          if body.kind == "erasure" else None))
        audit.append(session, principal, OPENED, customer_ref=ref,
                     objects={"request_id": row.id, "kind": body.kind, "via": via,
                              "due_at": _when(row.due_at)})
        if body.kind not in ("objection", "restriction"):
            wait = ""
            if row.carry_out_at is not None:
                from serving.delivery.messages import phrase

                wait = phrase("erasure_wait", _lang(session, ref)).format(
                    when=_when(row.carry_out_at))
            _notify(session, settings, row, "rights_opened", principal,
                    opened=_when(now), due=_when(row.due_at), wait=wait,
                    by=("by_phone",) if via == "assisted" else ("",))
        session.commit()
        rid = row.id
    if body.kind == "objection":
        return _carry_out_objection(session, settings, principal, rid, now)
    if body.kind == "restriction":
        return _carry_out_restriction(session, settings, specs, principal, rid, now, lang)
    return public(session, _get(session, rid), now)


def _get(session: Session, request_id: str, *, lock: bool = False) -> RightsRequest:
    return must_find(store.get(session, request_id, lock=lock), "no such rights request")


def _finish(session: Session, row: RightsRequest, who: Principal | str, status: str,
            outcome: str, now: datetime, related_id: str | None = None) -> None:
    """Close the request in the caller's transaction, audited."""
    if not store.change(session, row, status=status, outcome=outcome, closed_at=now,
                        handler=row.handler or (who.actor if isinstance(who, Principal)
                                                else str(who)),
                        related_id=related_id or row.related_id):
        raise Conflict("this request was changed meanwhile: read it again",
                       request_id=row.id)
    audit.append(session, who, CLOSED, customer_ref=row.customer_ref,
                 objects={"request_id": row.id, "kind": row.kind, "status": status,
                          "related_id": related_id or row.related_id,
                          "in_time": now <= deadline(row)})


def _carry_out_objection(session: Session, settings: Settings, principal: Principal,
                         rid: str, now: datetime) -> RightsRequestPublic:
    """Through the objection service (its rules, its notice); the request closes done."""
    _, new = objections.object_to_profiling(session, principal, settings=settings)
    with write_lock(session):
        row = _get(session, rid, lock=True)
        lang = _lang(session, row.customer_ref)
        outcome = _OUTCOMES["objected" if new else "already_objected"][lang]
        _finish(session, row, principal, "done", outcome, now)
        if not new:  # the objection service told them nothing new: this request's answer
            _notify(session, settings, row, "rights_closed", principal,
                    result=("rights_done",), outcome=outcome,
                    authority=_authority(settings, lang))
        session.commit()
    return public(session, _get(session, rid), now)


def _carry_out_restriction(session: Session, settings: Settings, specs: SpecCache,
                           principal: Principal, rid: str, now: datetime,
                           lang: str) -> RightsRequestPublic:
    """Through the dispute flow: a dispute of the latest prediction in use restricts the
    record until a reviewer decides. Already restricted: done, nothing more to do. No
    prediction in use: left open for a person, the customer told."""
    customer = session.get(Customer, principal.customer_ref, populate_existing=True)
    pred = customers.latest_prediction(session, specs, principal, lang)
    row = _get(session, rid)
    lang = _lang(session, row.customer_ref)
    dispute_id = None
    if customer is not None and customer.restricted:
        key = "already_restricted"
    elif pred is None:
        key = None
    else:
        statement = row.details or _OUTCOMES["restriction_statement"][lang]
        opened = disputes.open_dispute(
            session, principal, DisputeCreate(prediction_id=pred.prediction_id,
                                              statement=statement[:4000],
                                              wants_human_review=True),
            f"rights-{rid}", specs=specs, lang=lang)
        dispute_id = opened.dispute.dispute_id
        key = "restricted"
    with write_lock(session):
        row = _get(session, rid, lock=True)
        if key is None:
            _notify(session, settings, row, "rights_opened", principal, opened=_when(now),
                    due=_when(row.due_at), wait="",
                    by=("by_phone",) if row.opened_via == "assisted" else ("",))
        else:
            outcome = _OUTCOMES[key][lang]
            _finish(session, row, principal, "done", outcome, now, related_id=dispute_id)
            _notify(session, settings, row, "rights_closed", principal,
                    result=("rights_done",), outcome=outcome,
                    authority=_authority(settings, lang))
        session.commit()
    return public(session, _get(session, rid), now)


_OUTCOMES = {
    "objected": {"en": "Your objection to profiling is recorded: you are no longer scored.",
                 "fr": "Votre opposition au profilage est enregistrée : vous n'êtes plus "
                       "évalué(e)."},
    "already_objected": {"en": "Your objection to profiling was already recorded: you are "
                               "not scored.",
                         "fr": "Votre opposition au profilage était déjà enregistrée : vous "
                               "n'êtes pas évalué(e)."},
    "restricted": {"en": "Your record is restricted: it is not used (no contact, no risk list, "
                         "no training) until a person has reviewed your request.",
                   "fr": "Votre dossier est limité : il n'est pas utilisé (ni contact, ni liste "
                         "de risque, ni entraînement) jusqu'à ce qu'une personne ait examiné "
                         "votre demande."},
    "already_restricted": {"en": "Your record was already restricted by a dispute under "
                                 "review: it is not used until the dispute is decided.",
                           "fr": "Votre dossier était déjà limité par une contestation en "
                                 "cours d'examen : il n'est pas utilisé jusqu'à sa décision."},
    "restriction_statement": {"en": "I ask for the use of my data to be restricted.",
                              "fr": "Je demande la limitation de l'utilisation de mes données."},
    "copy": {"en": "You downloaded your copy from your page.",
             "fr": "Vous avez téléchargé votre copie depuis votre page."},
    "copy_ready": {"en": "Your copy is ready on your page: download it there, as a document "
                         "that prints well or as data (JSON).",
                   "fr": "Votre copie est prête sur votre page : téléchargez-la en document "
                         "imprimable ou en données (JSON)."},
    "erased": {"en": "Your data was erased.", "fr": "Vos données ont été effacées."},
}


def copy_delivered(session: Session, principal: Principal, *, now: datetime | None = None,
                   downloaded: bool = True) -> RightsRequestPublic:
    """The customer downloaded their copy in their own session (or asked for it there):
    an access request answered at once (one a day is recorded; each download audited).
    An access request made by phone and still open is answered by this download."""
    ref = _customer_ref(principal)
    now = now or datetime.now(UTC)
    with write_lock(session):
        today = [r for r in store.for_customer(session, ref)
                 if r.kind == "access" and r.status == "done" and r.opened_via == "customer"
                 and r.closed_at is not None and r.closed_at.date() == now.date()]
        waiting = store.open_of_kind(session, ref, "access") if downloaded else None
        if waiting is not None:  # asked by phone, answered by their own download
            row = waiting
            _finish(session, row, principal, "done",
                    _OUTCOMES["copy"][_lang(session, ref)], now)
        elif today:
            row = today[0]
        else:
            lang = _lang(session, ref)
            row = store.insert(session, customer_ref=ref, kind="access", status="done",
                               opened_at=now, due_at=months_after(now, 1),
                               opened_via="customer", opened_by=principal.actor,
                               handler=SELF_SERVICE, closed_at=now,
                               outcome=_OUTCOMES["copy" if downloaded else "copy_ready"][lang],
                               lang=lang)
            audit.append(session, principal, OPENED, customer_ref=ref,
                         objects={"request_id": row.id, "kind": "access", "via": "customer",
                                  "due_at": _when(row.due_at)})
        if downloaded:
            audit.append(session, principal, COPY_DOWNLOADED, customer_ref=ref,
                         objects={"request_id": row.id})
        session.commit()
        rid = row.id
    return public(session, _get(session, rid), now)


# -- the customer's side --------------------------------------------------------------------
def mine(session: Session, principal: Principal,
         now: datetime | None = None) -> RightsRequestList:
    """The customer's own requests, newest first."""
    ref = _customer_ref(principal)
    now = now or datetime.now(UTC)
    rows = store.for_customer(session, ref)
    names = display_names(session, [r.handler for r in rows])
    items = [public(session, r, now, names) for r in rows]
    return RightsRequestList(items=items, overdue=sum(i.overdue for i in items))


def cancel(session: Session, settings: Settings, principal: Principal, request_id: str, *,
           now: datetime | None = None) -> RightsRequestPublic:
    """The customer withdraws their own open request (an erasure during its waiting
    period, typically). Only in their own session; anyone else's request is 404."""
    ref = _customer_ref(principal)
    if principal.assisted_by is not None:
        raise Forbidden("only the customer cancels their request, in their own session")
    now = now or datetime.now(UTC)
    with write_lock(session):
        row = store.get(session, request_id, lock=True)
        if row is None or row.customer_ref != ref:
            raise NotFound("no such rights request")
        if row.status not in RIGHTS_OPEN_STATUSES:
            session.rollback()
            raise Conflict(f"this request is already {row.status}: it cannot be cancelled",
                           request_id=row.id)
        if not store.change(session, row, status="cancelled", closed_at=now):
            raise Conflict("this request was changed meanwhile: read it again")
        audit.append(session, principal, CANCELLED, customer_ref=ref,
                     objects={"request_id": row.id, "kind": row.kind})
        session.commit()
    return public(session, _get(session, request_id), now)


# -- the staff's side -----------------------------------------------------------------------
def listing(session: Session, status: str = "open", limit: int = 200,
            now: datetime | None = None, *, reader: Principal,
            via: str = "api") -> RightsRequestList:
    """Requests for the staff who answer them, the most urgent first: `open` (open and
    extended), `overdue`, `closed` or `all`. The read (a list of customers' requests) is
    in the audit log, whoever serves it (`via`: api, or the page)."""
    now = now or datetime.now(UTC)
    statuses = {"open": RIGHTS_OPEN_STATUSES, "overdue": RIGHTS_OPEN_STATUSES,
                "closed": ("done", "refused", "cancelled"), "all": None}[status]
    rows = store.listing(session, statuses, limit)
    names = display_names(session, [r.handler for r in rows])
    items = sorted((public(session, r, now, names) for r in rows),
                   key=lambda i: (not i.overdue, i.deadline))
    if status == "overdue":
        items = [i for i in items if i.overdue]
    out = RightsRequestList(items=items, overdue=store.overdue_count(session, now))
    audit.read(session, reader, audit.RIGHTS_LIST_READ,
               objects={"status": status, "limit": limit, "entries": len(items), "via": via})
    return out


def _staff(principal: Principal) -> None:
    if principal.kind != "staff":
        raise Forbidden("rights requests are answered by staff (reviewer or admin)")


def _open_row(session: Session, request_id: str) -> RightsRequest:
    row = _get(session, request_id, lock=True)
    if row.status not in RIGHTS_OPEN_STATUSES:
        session.rollback()
        raise Conflict(f"this request is already {row.status}", request_id=row.id,
                       status=row.status)
    return row


def take(session: Session, principal: Principal, request_id: str, *,
         now: datetime | None = None) -> RightsRequestPublic:
    """The caller becomes the request's handler (taking it from someone else is allowed:
    a colleague away must not stop the clock)."""
    _staff(principal)
    now = now or datetime.now(UTC)
    with write_lock(session):
        row = _open_row(session, request_id)
        before = row.handler
        if not store.change(session, row, handler=principal.actor):
            raise Conflict("this request was changed meanwhile: read it again")
        audit.append(session, principal, TAKEN, customer_ref=row.customer_ref,
                     objects={"request_id": row.id, "kind": row.kind,
                              "from": before if before and before != principal.actor else None})
        session.commit()
    return public(session, _get(session, request_id), now)


def extend(session: Session, settings: Settings, principal: Principal, request_id: str,
           body: RightsExtend, *, now: datetime | None = None) -> RightsRequestPublic:
    """Extend by two further months (Art. 12(3)): once, before the first deadline, with
    a reason the customer is told (with where they may complain)."""
    _staff(principal)
    now = now or datetime.now(UTC)
    with write_lock(session):
        row = _open_row(session, request_id)
        if row.status == "extended":
            session.rollback()
            raise Conflict(f"this request was already extended (to {_when(deadline(row))}); "
                           "the law allows one extension of two months: answer it")
        if now > row.due_at:
            session.rollback()
            raise Conflict(f"the one-month deadline ({_when(row.due_at)}) has passed: an "
                           "extension must be told to the customer within that month; "
                           "answer the request now")
        new_due = months_after(row.due_at, EXTENSION_MONTHS)
        if not store.change(session, row, status="extended", extended_due_at=new_due,
                            extension_reason=body.reason,
                            handler=row.handler or principal.actor):
            raise Conflict("this request was changed meanwhile: read it again")
        session.refresh(row)
        lang = _lang(session, row.customer_ref)
        _notify(session, settings, row, "rights_extended", principal, due=_when(new_due),
                reason=body.reason, authority=_authority(settings, lang))
        audit.append(session, principal, EXTENDED, customer_ref=row.customer_ref,
                     objects={"request_id": row.id, "kind": row.kind,
                              "extended_due_at": _when(new_due)})
        session.commit()
    return public(session, _get(session, request_id), now)


def close(session: Session, settings: Settings, principal: Principal, request_id: str,
          body: RightsClose, *, now: datetime | None = None) -> RightsRequestPublic:
    """Answer the request: done or refused, with what was done or why not; the customer
    is told. An erasure closed as done is carried out here (the erasure service, which
    sends its own notice before the address goes)."""
    _staff(principal)
    now = now or datetime.now(UTC)
    row = _get(session, request_id)
    if row.status not in RIGHTS_OPEN_STATUSES:
        raise Conflict(f"this request is already {row.status}", request_id=row.id,
                       status=row.status)
    if row.kind == "erasure" and body.status == "done":
        return _erase(session, settings, principal, request_id, now, body.outcome)
    with write_lock(session):
        row = _open_row(session, request_id)
        lang = _lang(session, row.customer_ref)
        _finish(session, row, principal, body.status, body.outcome, now)
        result = "rights_done" if body.status == "done" else "rights_refused"
        extra = ("access_ready",) if row.kind == "access" and body.status == "done" else ()
        _notify(session, settings, row, "rights_closed", principal,
                result=(result, *extra), outcome=body.outcome,
                authority=_authority(settings, lang))
        session.commit()
    return public(session, _get(session, request_id), now)


def _erase(session: Session, settings: Settings, who: Principal | str, request_id: str,
           now: datetime, outcome: str | None = None) -> RightsRequestPublic:
    """Carry out an erasure request: the customer erased and the request closed done, in
    one transaction. The customer already gone (erased by another path): closed done."""
    row = _get(session, request_id)
    ref = row.customer_ref

    def closing(s: Session) -> None:
        fresh = _get(s, request_id)
        if fresh.status not in RIGHTS_OPEN_STATUSES:
            raise Conflict(f"this request is already {fresh.status}", request_id=fresh.id)
        _finish(s, fresh, who, "done", _OUTCOMES["erased"][fresh.lang or "en"], now)

    if session.get(Customer, ref) is None:
        with write_lock(session):
            if session.get(Erasure, ref) is None:
                session.rollback()
                raise NotFound("no such customer (nothing is held about them)")
            closing(session)
            session.commit()
    else:
        customers.erase_ref(session, settings, ref, who, request_id=request_id,
                            within=closing)
    del outcome  # the customer's address is gone: the erasure notice was their answer
    return public(session, _get(session, request_id), now)


def carry_out_due(session: Session, settings: Settings, *,
                  now: datetime | None = None,
                  on_error: Callable[[str, Exception], None] | None = None) -> DueRun:
    """Erasure requests whose waiting period is over, carried out (`rights-due`, run by
    the nightly batch job or by hand); each in its own transaction."""
    now = now or datetime.now(UTC)
    done, failed = [], []
    for rid in store.due_erasures(session, now):
        session.rollback()
        try:
            _erase(session, settings, SYSTEM, rid, now)
            done.append(rid)
        except (Conflict, NotFound) as exc:
            session.rollback()
            failed.append(rid)
            if on_error is not None:
                on_error(rid, exc)
    session.rollback()
    return DueRun(carried_out=done, failed=failed, overdue=store.overdue_count(session, now))
