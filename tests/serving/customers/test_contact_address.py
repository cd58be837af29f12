"""A contact address is exactly one plain e-mail address (name@domain), by one rule
wherever it enters: the integration role's API and the batch's contact column
(`serving.customers.contacts.check`). What is refused says in words what is expected,
what came and the fix; never a regular expression."""

from __future__ import annotations

import pandas as pd
import pytest

from serving.customers import contacts
from serving.errors import short

# what a tester got through the old rule (^[^@\s]+@[^@\s]+$), and its cousins
BAD = [
    "=?utf-8?q?attacker=40evil.org=2C?=v@bank.com",  # an encoded word: a comma, 2 rcpts
    "v@bank.com,attacker",  # a list
    "a@b;c",  # a list (the part before ';' alone got the mail)
    "=?utf-8?q?x?=@y",  # an encoded word: decoded in the To header
    "v@bank.com, w@bank.com",
    "Lea <lea@example.org>",  # a display name
    "<lea@example.org>",
    "lea@example.org (Lea)",  # a comment
    '"lea martin"@example.org',  # quotes
    "lea:x@example.org",
    "lea@example.org\r\nBcc: e@evil.example",  # a header injected
    "lea\x00@example.org",
    "lea@[127.0.0.1]",  # a domain literal
    "lea@localhost",  # no dot
    "lea..martin@example.org",
    "jörg@example.org",  # a UTF-8 local part needs SMTPUTF8: not delivered, refused
    "x" * 65 + "@example.org",  # 65 characters before the @
    "x@" + "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + "." + "d" * 70 + ".org",  # > 254
    "@example.org",
    "lea@",
    "a@",
]
GOOD = {
    "lea@example.org": "lea@example.org",
    "lea.martin+news@example.org": "lea.martin+news@example.org",  # plus-addressing
    "l@mail.eu.sub.example.co.uk": "l@mail.eu.sub.example.co.uk",  # subdomains
    "Lea.Martin@Example.ORG": "Lea.Martin@example.org",  # the domain lower-cased
    "o'brien_x-y=z?w@example.org": "o'brien_x-y=z?w@example.org",  # atext, no '=?'
    "lea@bücher.example": "lea@bücher.example",  # an internationalised domain (IDN)
    "lea@xn--bcher-kva.example": "lea@bücher.example",  # the same, as IDNA ASCII
    "x" * 64 + "@example.org": "x" * 64 + "@example.org",
}


@pytest.mark.parametrize("address", BAD)
def test_the_rule_refuses_what_is_not_one_plain_address(address):
    assert not contacts.valid(address)
    with pytest.raises(contacts.AddressRefused) as refused:
        contacts.check(address)
    assert refused.value.why  # how this one breaks the rule, in words
    assert address not in refused.value.why  # never the address itself (it is logged)


@pytest.mark.parametrize("address", GOOD)
def test_the_rule_takes_plain_addresses_in_normal_form(address):
    box = contacts.check(address)
    assert box.normalized == GOOD[address]
    assert box.ascii.isascii() and box.ascii == f"{box.local}@{box.domain}"
    assert contacts.check(box.normalized) == box  # the stored form passes again, unchanged


def test_an_idn_is_sent_in_its_ascii_form():
    box = contacts.check("lea@bücher.example")
    assert box.ascii == "lea@xn--bcher-kva.example" and box.domain == "xn--bcher-kva.example"


@pytest.mark.parametrize("address", [a for a in BAD if "\x00" not in a])  # NUL: the edge's
def test_the_api_refuses_it_in_words(client, tokens, address):
    r = client.put("/v1/customers/CT1/contact", json={"address": address, "lang": "en"},
                   headers={"Authorization": f"Bearer {tokens['integration']}"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["fields"] == ["address"]
    (error,) = body["errors"]
    assert error["problem"] == "address_invalid"
    assert error["expected"] == contacts.ADDRESS_EXPECTED  # what is expected, in words
    assert error["fix"] == contacts.ADDRESS_FIX  # the fix, in its own field
    # what is wrong with it, then what came
    with pytest.raises(contacts.AddressRefused) as refused:
        contacts.check(address)
    assert error["got"] == short(f"{refused.value.why}: {address!r}")
    assert "should match pattern" not in r.text and "[^@" not in r.text  # no regex


def test_the_api_stores_good_addresses_in_normal_form(api, customers):
    cid = customers[0]["customer_id"]
    assert api.score(customers[0]).status_code == 201
    for given, stored in GOOD.items():
        r = api.client.put(f"/v1/customers/{cid}/contact",
                           json={"address": given, "lang": "fr"},
                           headers=api.headers("integration"))
        assert r.status_code == 200, (given, r.text)
        assert r.json()["address"] == stored


def test_openapi_states_the_rule_in_words_not_a_pattern(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ContactSet"]
    address = schema["properties"]["address"]
    assert "pattern" not in address and address["maxLength"] == contacts.ADDRESS_MAX
    assert contacts.ADDRESS_EXPECTED in address["description"]


def test_the_batch_column_keeps_the_same_rule():
    cells = [*BAD, *GOOD, None, ""]
    frame = pd.DataFrame({"email": cells})
    refs = [f"ref{n}" for n in range(len(cells))]
    found = contacts.from_frame(frame, refs, "email")
    # "lea@example.org\r\nBcc: ..." is stripped at both ends only: still refused
    assert found.bad_rows == [n + 1 for n in range(len(BAD))]  # reported by row
    assert found.found == [(refs[len(BAD) + n], stored)
                           for n, stored in enumerate(GOOD.values())]
    assert contacts.ADDRESS_RULE.startswith("not an e-mail address (expected ")
    assert contacts.ADDRESS_EXPECTED in contacts.ADDRESS_RULE  # the API's words


def test_the_common_shape_is_read_as_the_library_reads_it():
    """`check` accepts the common shape without the library (a batch checks a million
    addresses); what it accepts, the library accepts and normalises the same way, over
    random addresses with every character class at every place."""
    import random

    from serving.customers.contacts import _library, _plain

    rng = random.Random(7)
    local_chars = "abcXYZ019._%+-=?!#'~"
    label_chars = "abcXYZ019-"
    tlds = ["org", "COM", "fr", "test", "localhost", "onion", "arpa", "x", "c0m", "xn--p1ai",
            "museum", "invalid", "local"]
    accepted = 0
    for _ in range(4000):
        chars = local_chars if rng.random() < 0.3 else local_chars[:14]  # mostly common
        local = "".join(rng.choice(chars) for _ in range(rng.randint(1, 12)))
        labels = ["".join(rng.choice(label_chars) for _ in range(rng.randint(1, 8)))
                  for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.1:
            labels[0] = "xn--" + labels[0]
        address = f"{local}@{'.'.join(labels)}.{rng.choice(tlds)}"
        fast = _plain(address)
        if fast is None:
            continue
        accepted += 1
        assert _library(address) == fast, address  # never accepts what the library refuses
    assert accepted > 300  # the fast path is the common path
    for common in ("lea.martin+news@Example.ORG", "a_b%c@sub-domain.example.co.uk"):
        assert _plain(common) == _library(common)
