"""A message goes to its one stored address and to no one else: SMTP is given that
address as the only envelope recipient (RCPT TO), the To header is built from its parts
and names it alone, and an address stored before the rule was strict that breaks it is
never sent to (the message is failed at once, with the reason and the fix)."""

from __future__ import annotations

import pytest

from serving.customers import contacts
from serving.delivery.service import deliver_once
from serving.delivery.transport import (
    MailboxTransport,
    RecipientMismatch,
    SmtpTransport,
    build,
    read_mailbox,
)
from serving.storage import access, outbox
from serving.storage.db import write_lock
from tests.serving.conftest import set_contact

# stored as given by the API and the batch before the rule was strict (^[^@\s]+@[^@\s]+$)
STORED_BEFORE = [
    "=?utf-8?q?attacker=40evil.org=2C?=v@bank.com",  # RCPT TO attacker@evil.org, v@...
    "v@bank.com,attacker",  # two recipients
    "a@b;c",  # went to a@b
    "=?utf-8?q?x?=@y",  # To: x@y
    "lea@example.org,=?utf-8?q?Bcc=3A?=e@evil.example",
]


def _send_link(api, customer) -> str:  # noqa: ANN001
    r = api.post(f"/v1/customers/{customer['customer_id']}/access-link/send")
    assert r.status_code == 202, r.text
    return r.json()["message_id"]


@pytest.mark.parametrize("given,rcpt", [
    ("v+alerts@mail.bank.example.org", "v+alerts@mail.bank.example.org"),
    ("Lea@Bücher.Example", "Lea@xn--bcher-kva.example"),  # IDN: sent as IDNA ASCII
])
def test_rcpt_to_is_exactly_the_stored_address(api, app, customers, settings,
                                               smtp, given, rcpt):
    cid = customers[0]["customer_id"]
    assert api.score(customers[0]).status_code == 201
    set_contact(api, cid, given)
    mid = _send_link(api, customers[0])
    live = settings.model_copy(update={"smtp_url": smtp.url})
    assert deliver_once(app.state.db, live)["sent"] == 1
    ((mail_from, rcpt_tos, msg),) = smtp.received
    assert rcpt_tos == [rcpt]  # the one stored address, nobody else
    assert [a.addr_spec for a in msg["To"].addresses] == [rcpt]
    assert "Cc" not in msg and "Bcc" not in msg
    assert mail_from == settings.mail_from
    with app.state.db.session() as s:
        assert outbox.get(s, mid).status == "sent"


@pytest.mark.parametrize("stored", STORED_BEFORE)
def test_an_address_stored_before_the_rule_is_never_sent_to(api, app, customers, settings,
                                                            smtp, stored):
    """The tester's case: PUT contact took it, the agent sends a link; now the API
    refuses it, and one already stored is refused at send time, for good."""
    cid = customers[0]["customer_id"]
    ref = api.score(customers[0]).json()["customer_ref"]
    with app.state.db.session() as s, write_lock(s):  # as the old rule let it in
        access.set_contact(s, ref, stored, "en", "integration")
        s.commit()
    mid = _send_link(api, customers[0])  # queued (202): the agent never sees the address
    live = settings.model_copy(update={"smtp_url": smtp.url})
    assert deliver_once(app.state.db, live) == {"sent": 0, "recovered": 0, "retried": 0,
                                                "failed": 1}
    assert smtp.received == []  # nothing reached the server
    with app.state.db.session() as s:
        row = outbox.get(s, mid)
    assert row.status == "failed" and row.attempts == 1
    assert row.last_error.startswith("AddressRefused: not sent nor retried")
    assert "fix: set the customer's contact address again" in row.last_error
    assert stored not in row.last_error and "token=" not in row.last_error
    assert deliver_once(app.state.db, live)["failed"] == 0  # not taken again
    # the fix: a good address; a new link goes to it alone
    set_contact(api, cid, "v@bank.example.org")
    _send_link(api, customers[0])
    assert deliver_once(app.state.db, live)["sent"] == 1
    assert [rcpt for _, rcpt, _ in smtp.received] == [["v@bank.example.org"]]


def test_the_dev_mailbox_gets_nothing_for_a_bad_stored_address(api, app, customers,
                                                                 settings):
    ref = api.score(customers[0]).json()["customer_ref"]
    with app.state.db.session() as s, write_lock(s):
        access.set_contact(s, ref, "=?utf-8?q?x?=@y", "en", "integration")
        s.commit()
    _send_link(api, customers[0])
    assert deliver_once(app.state.db, settings)["failed"] == 1
    assert read_mailbox(settings.mailbox_dir) == []


def test_the_to_header_names_the_address_alone(settings, smtp, tmp_path):
    to = contacts.check("o'brien+x=y?z@example.org")
    msg = build(settings, "m1", to, "Subject", "Body")
    assert str(msg["To"]) == "o'brien+x=y?z@example.org"
    assert [a.addr_spec for a in msg["To"].addresses] == [to.ascii]
    SmtpTransport(smtp.url).send(msg, to.ascii)
    ((_, rcpt_tos, got),) = smtp.received
    assert rcpt_tos == [to.ascii] and str(got["To"]) == to.ascii
    # a message naming anyone else, or another recipient: refused before any connection
    other = build(settings, "m2", to, "Subject", "Body")
    other["Cc"] = "e@evil.example"
    for message, recipient in ((msg, "e@evil.example"), (other, to.ascii)):
        with pytest.raises(RecipientMismatch):
            SmtpTransport(smtp.url).send(message, recipient)
        with pytest.raises(RecipientMismatch):
            MailboxTransport(tmp_path / "box").send(message, recipient)
    assert len(smtp.received) == 1 and not (tmp_path / "box").exists()


def test_a_notice_to_a_bad_stored_address_holds_the_restriction_until_a_good_one(
        api, app, settings, contest, by_risk, smtp):
    """Art. 18(3): a decision notice that may not be sent is failed for good, so the
    restriction stays (held) until the portal sets a good address: it goes there alone."""
    from tests.serving.delivery.test_restriction_lift import _disputed, _events, _state

    p, did = _disputed(api, contest, by_risk[2], "before@example.org")
    ref = p["customer_ref"]
    with app.state.db.session() as s, write_lock(s):  # as the old rule let it in
        access.set_contact(s, ref, "v@bank.com,attacker@evil.example", "en", "integration")
        s.commit()
    r = contest.decide(did, {"decision": "overturned", "rationale": "The model was wrong."})
    assert r.status_code == 201, r.text
    live = settings.model_copy(update={"smtp_url": smtp.url})
    assert deliver_once(app.state.db, live)["failed"] == 1  # at once, not after retries
    assert smtp.received == []
    assert _state(app, ref)[0] is True  # held: never lifted untold
    assert len(_events(api, ref, "restriction.lift_held")) == 1
    set_contact(api, by_risk[2]["customer_id"], "after@example.org")
    assert deliver_once(app.state.db, live)["sent"] == 1
    assert [rcpt for _, rcpt, _ in smtp.received] == [["after@example.org"]]
    assert _state(app, ref) == (False, 0)
