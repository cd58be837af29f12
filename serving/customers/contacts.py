"""Contact addresses from the customer base file (issue 15): the dataset schema's optional
`contact_column:` names the column holding each customer's e-mail address.

The address is personal data used only to tell the customer things: it is read apart from
the features (never encoded, scored, explained, stored in a receipt, nor seen by
training, which refuses it as a candidate: `DatasetSchema.excluded`), stored in
`customer_contacts` like an address the integration role sets, and erased with the
customer. A row whose address breaks the API's rule (`ADDRESS_RULE`, checked by `check`)
is still scored: the address alone is left out and the row is reported by its number in
the file, never by the address or the customer id. A good address is stored in the same
normal form as one the API takes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import email_validator
import pandas as pd

# The one rule of a contact address, wherever it enters (`ContactSet.address` of the
# integration role's API, the batch's contact column) and again when a message is sent
# (`serving.delivery`): exactly one plain addr-spec mailbox, checked by `email-validator`
# (no network: `check_deliverability=False`) plus a refusal of RFC 2047 encoded words,
# which are valid characters in an addr-spec but which mail software decodes in a To
# header (into a comma and a second recipient, say). The domain may be internationalised
# (stored in Unicode, sent in its ASCII/IDNA form, so no SMTPUTF8 is needed); the part
# before the @ must be ASCII (a UTF-8 local part needs SMTPUTF8 of every relay).
ADDRESS_MIN, ADDRESS_MAX, LOCAL_MAX = 3, 254, 64
ADDRESS_EXPECTED = (
    "exactly one plain e-mail address, name@domain: no display name, angle brackets, "
    "comment, quotes, second address or list separator (',' ';'), encoded word ('=?'), "
    "space or control character; the domain has a dot and may be internationalised; the "
    f"part before the @ is ASCII, at most {LOCAL_MAX} characters; {ADDRESS_MAX} characters "
    "in all")
ADDRESS_RULE = f"not an e-mail address (expected {ADDRESS_EXPECTED})"
ADDRESS_FIX = ("give the customer's own address alone, e.g. lea.martin+news@example.org, "
               "without a name, brackets or a second address")
# rows reported by number; past this, only counted (a file of bad addresses stays readable)
MAX_ROWS_REPORTED = 100


class AddressRefused(ValueError):
    """The address breaks `ADDRESS_RULE`; `why` says how (it never quotes the address
    whole: at most the offending characters)."""

    def __init__(self, why: str):
        super().__init__(f"{ADDRESS_RULE}: {why}")
        self.why = why


@dataclass(frozen=True)
class Mailbox:
    """A valid address: `normalized` is what is stored (domain lower-cased, Unicode NFC,
    an internationalised domain in Unicode), `ascii` what SMTP is given (the domain in
    IDNA ASCII), `local` and `domain` its parts (ASCII)."""

    normalized: str
    ascii: str
    local: str
    domain: str


# The common shape, accepted without the library (a batch checks a million addresses: 28
# against 2 microseconds each): a dot-atom of letters, digits and _ % + - before the @, a
# lower- or upper-case ASCII host name with a letters-only top-level domain after it, no
# IDNA label ("xn--") nor "--", no special-use domain. Anything else goes to the library;
# what this accepts, the library accepts and normalises the same way (tested).
_PLAIN = re.compile(r"(?P<local>[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)@"
                    r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                    r"[A-Za-z]{2,63})")
_SPECIAL = tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def _plain(address: str) -> Mailbox | None:
    """`address` as a `Mailbox` when it has the common shape (`_PLAIN`), else None."""
    m = _PLAIN.fullmatch(address)
    if m is None or len(m["local"]) > LOCAL_MAX or "--" in m["domain"]:
        return None
    domain = m["domain"].lower()
    if any(domain == s or domain.endswith("." + s) for s in _SPECIAL):
        return None
    normalized = f"{m['local']}@{domain}"
    return Mailbox(normalized=normalized, ascii=normalized, local=m["local"], domain=domain)


def check(address: str) -> Mailbox:
    """`address` as a `Mailbox`, or `AddressRefused` saying what is wrong with it."""
    if not ADDRESS_MIN <= len(address) <= ADDRESS_MAX:
        raise AddressRefused(f"it is {len(address)} characters long")
    plain = _plain(address)
    return plain if plain is not None else _library(address)


def _library(address: str) -> Mailbox:
    """`check` by `email-validator` (and the encoded-word refusal)."""
    if "=?" in address:
        raise AddressRefused("it holds an encoded word ('=?...?='), which mail software "
                             "decodes into other characters, other addresses even")
    try:
        found = email_validator.validate_email(
            address, check_deliverability=False, allow_smtputf8=False,
            allow_display_name=False, allow_quoted_local=False, allow_domain_literal=False,
            allow_empty_local=False, globally_deliverable=True, test_environment=False,
            strict=True)
    except email_validator.EmailNotValidError as exc:
        why = str(exc).rstrip(".")
        raise AddressRefused(why[:1].lower() + why[1:]) from None
    if found.ascii_email is None or "=?" in found.normalized:  # pragma: no cover - defence
        raise AddressRefused("it cannot be sent without SMTPUTF8")
    return Mailbox(normalized=found.normalized, ascii=found.ascii_email,
                   local=found.ascii_local_part or found.local_part, domain=found.ascii_domain)


def valid(address: str) -> bool:
    try:
        check(address)
    except AddressRefused:
        return False
    return True


@dataclass
class FileContacts:
    """The addresses of one chunk: (customer_ref, address) to store, and bad rows."""

    found: list[tuple[str, str]] = field(default_factory=list)
    bad_rows: list[int] = field(default_factory=list)  # 1-based data rows of the file


def from_frame(frame: pd.DataFrame, refs: list[str], column: str | None) -> FileContacts:
    """The addresses in `column` of `frame`, whose rows are the customers `refs` (in
    order). An empty cell is no address (nothing stored, nothing reported)."""
    out = FileContacts()
    if column is None or frame.empty:
        return out
    cells = frame[column].astype("string").str.strip()
    for row, ref, address in zip(frame.index.tolist(), refs, cells.tolist(), strict=True):
        if address is None or address is pd.NA or address == "":
            continue
        try:
            out.found.append((ref, check(address).normalized))  # stored as the API's
        except AddressRefused:
            out.bad_rows.append(int(row) + 1)
    return out
