"""Customers are told (issue 15): a notice queued in the transaction of the event that
causes it (a decision, a rectification, a restriction about to be lifted, an objection,
an erasure), in the customer's language, with a fresh link where they can act; each
notice is audited. Nothing is queued when no contact address is known."""

from __future__ import annotations

from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.config import Settings
from serving.customers import access
from serving.delivery import messages
from serving.delivery import service as delivery
from serving.storage import access as contacts


def notify(session: Session, settings: Settings, customer_ref: str, kind: str,
           who: Principal | str, *, with_link: bool, lifts_restriction: bool = False,
           **values: str) -> str | None:
    """Queue the notice (and its link) in the caller's transaction; its message id, None
    when no contact address is known. `lifts_restriction`: the worker lifts the
    customer's restriction once this notice is delivered (Art. 18(3))."""
    found = contacts.contact(session, customer_ref)
    if found is None:
        return None
    lang = found[1]
    actor = who.actor if isinstance(who, Principal) else str(who)
    link = access.mint(session, settings, customer_ref, "notice", actor) if with_link else None
    texts = {k: messages.phrase(v, lang) if isinstance(v, tuple) else v
             for k, v in values.items()}
    mid = delivery.queue(session, customer_ref, kind, actor, link_id=link.id if link else None,
                         lifts_restriction=lifts_restriction, link=link.url if link else "",
                         **texts)
    audit.append(session, who, audit.NOTICE_QUEUED, customer_ref=customer_ref,
                 objects={"message_id": mid, "kind": kind,
                          "link_id": link.id if link else None,
                          "lifts_restriction": lifts_restriction})
    return mid
