"""Contact addresses from the customer base file (issue 15): the dataset schema's optional
`contact_column:` names the column holding each customer's e-mail address.

The address is personal data used only to tell the customer things: it is read apart from
the features (never encoded, scored, explained, stored in a receipt, nor seen by
training, which refuses it as a candidate: `DatasetSchema.excluded`), stored in
`customer_contacts` like an address the integration role sets, and erased with the
customer. A row whose address breaks the API's rule (`ADDRESS_RULE`) is still scored: the
address alone is left out and the row is reported by its number in the file, never by
the address or the customer id."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

# the rule of `ContactSet.address` (the integration role's API): one rule for both
ADDRESS_PATTERN = r"^[^@\s]+@[^@\s]+$"
ADDRESS_MIN, ADDRESS_MAX = 3, 320
ADDRESS_RULE = (f"not an e-mail address (expected name@domain, {ADDRESS_MIN}-{ADDRESS_MAX} "
                "characters, no spaces)")
_ADDRESS = re.compile(ADDRESS_PATTERN)
# rows reported by number; past this, only counted (a file of bad addresses stays readable)
MAX_ROWS_REPORTED = 100


@dataclass
class FileContacts:
    """The addresses of one chunk: (customer_ref, address) to store, and bad rows."""

    found: list[tuple[str, str]] = field(default_factory=list)
    bad_rows: list[int] = field(default_factory=list)  # 1-based data rows of the file


def valid(address: str) -> bool:
    return ADDRESS_MIN <= len(address) <= ADDRESS_MAX and bool(_ADDRESS.match(address))


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
        if valid(address):
            out.found.append((ref, address))
        else:
            out.bad_rows.append(int(row) + 1)
    return out
