"""Loading a data set and checking it against its dataset schema.

Every refusal is a `DataError` that names the column (and rows where it helps),
says what was expected and how to fix it. Rows with missing feature values are
kept: LightGBM handles them. A candidate with one value in every row (or none) carries
no information: training drops it and says so (`PreparedData.dropped_constant`).

A CSV file is read as batch scoring reads it (`serving.batch.read_chunks`): every
column as text, an empty field missing; in a column read as numbers, the common
missing markers (`models.dataset_schema.MISSING_MARKERS`: "NA", "N/A", "null", ...)
are missing too, while a category keeps them as text.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models.dataset_schema import MISSING_MARKERS, DatasetSchema
from models.encoding import category_text
from models.pseudonym import Pseudonymiser

# A text column whose non-blank values are at least this share numbers is meant to be numeric.
_NUMERIC_SHARE = 0.9
_SHOW_ROWS = 5
# What `load_table` learnt from the file that `prepare` needs, kept in `DataFrame.attrs`
# (copies keep it): {"missing": the texts a number column reads as missing (a CSV's
# markers; none for Parquet, whose numbers carry their own nulls), "unnamed": {pandas'
# name ("Unnamed: 8"): the column's position in the header} for header cells left empty}
_READ = "training.data.read"


class DataError(ValueError):
    """The data does not fit its schema; the message says where and how to fix it."""


@dataclass
class PreparedData:
    """A validated data set split into its roles."""

    schema: DatasetSchema
    candidates: pd.DataFrame  # candidate features, types coerced
    y: np.ndarray  # 1 = positive (churn)
    sensitive: pd.DataFrame  # audit only, never features
    pseudonyms: pd.Series | None  # HMAC pseudonyms of the ids, same row order
    coerced: list[str]  # text columns read as numbers
    rows_with_missing: int
    # candidates dropped because every customer has the same value (or none): column ->
    # why ("holds the one value 'Paris' in all 600 rows"); a header cell left empty over
    # an empty column is named by its position ("column 9 (no name in the header row)")
    dropped_constant: dict[str, str] = field(default_factory=dict)

    @property
    def candidate_names(self) -> list[str]:
        return list(self.candidates.columns)


def _rows(index: pd.Index) -> str:
    # file rows, counting the header as row 1
    shown = [str(int(i) + 2) for i in index[:_SHOW_ROWS]]
    more = f" and {len(index) - _SHOW_ROWS} more" if len(index) > _SHOW_ROWS else ""
    return ", ".join(shown) + more


def load_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file; anything else, or an unreadable file, is a `DataError`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {path} does not exist; pass DATA=<path to a .csv or .parquet>")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for broken files
            raise DataError(f"{path} is not a readable Parquet file ({exc}); "
                            "re-export it, or pass a CSV") from exc
        _refuse_unnamed_parquet(path, frame)
        frame.attrs[_READ] = {"missing": (), "unnamed": {}}
    elif suffix in (".csv", ".txt"):
        frame = _read_csv(path)
    else:
        raise DataError(
            f"{path} has the extension {suffix or '(none)'}; expected a CSV (.csv) or Parquet "
            "(.parquet) file. Export the data to one of those formats."
        )
    if frame.empty:
        raise DataError(f"{path} has no data rows; expected at least one customer per row")
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    head = path.read_bytes()[:65536]
    if b"\x00" in head:
        raise DataError(f"{path} contains binary data (NUL bytes), so it is not a CSV file; "
                        "export the table as UTF-8 CSV")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a multi-byte character cut by the sample
            raise DataError(f"{path} is not UTF-8 text (byte {exc.start}); "
                            "export it as UTF-8 CSV") from exc
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        header = next(filter(None, csv.reader(handle)), [])  # blank lines skipped, as pandas
    try:
        # as batch scoring reads a category: only an empty field is missing; a number
        # column's missing markers are read as missing by `prepare` (`_coerce`)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                            skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} is empty; expected a header row and one customer per row") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        _check_field_counts(path, header)  # says which rows, when that is what is wrong
        raise DataError(f"{path} is not a well-formed CSV file ({exc}); check that every row "
                        "has as many fields as the header and that the file is complete") from exc
    if frame.shape[1] == 1:
        try:
            dialect = csv.Sniffer().sniff(head.decode("utf-8", errors="ignore")[:8192])
            found = dialect.delimiter
        except csv.Error:
            found = None
        hint = f" It looks delimited by {found!r}." if found and found != "," else ""
        raise DataError(
            f"{path} has a single column {str(frame.columns[0])[:80]!r}; expected "
            f"comma-separated columns.{hint} Save it as comma-separated CSV."
        )
    _check_field_counts(path, header)
    frame.columns = _header_names(path, header, list(frame.columns))
    # header cells left empty, by position: pandas names them "Unnamed: <index>"
    unnamed = ({str(col): number for number, (raw, col)
                in enumerate(zip(header, frame.columns, strict=True), start=1)
                if not raw.strip()} if len(header) == frame.shape[1] else {})
    frame.attrs[_READ] = {"missing": MISSING_MARKERS, "unnamed": unnamed}
    return frame


def _check_field_counts(path: Path, header: list[str]) -> None:
    """Refuse rows with fewer fields than the header (pandas would pad them silently):
    the usual sign of a truncated or hand-damaged file; empty header cells at the end
    (a spreadsheet's trailing commas) may be left out of a row. Refuse rows with more
    fields than the header: the column they add has no name, and pandas (batch scoring
    too) would then take the first column for the row index, every name shifted onto the
    next column's values."""
    expected = len(header)
    named = expected
    while named and not header[named - 1].strip():
        named -= 1
    short: list[int] = []
    long: list[int] = []
    widest = 0
    blank_extra = True
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if row and len(row) < named:
                short.append(number)
            elif len(row) > expected:
                long.append(number)
                widest = max(widest, len(row))
                blank_extra = blank_extra and not "".join(row[expected:]).strip()
            if len(short) > _SHOW_ROWS or len(long) > _SHOW_ROWS:
                break

    def shown(rows: list[int]) -> str:
        return ", ".join(map(str, rows[:_SHOW_ROWS])) + (" and more" if len(rows) > _SHOW_ROWS
                                                         else "")

    if short:
        raise DataError(
            f"{path} has rows with fewer fields than its {expected}-column header (rows "
            f"{shown(short)}); the file looks truncated or damaged. Re-export it completely."
        )
    if long:
        extra = expected + 1
        ends = (" (each ends with a comma the header does not have)" if blank_extra else "")
        raise DataError(
            f"{path}: rows {shown(long)} have {widest} fields but the header names {expected}"
            f"{ends}: column {extra} has no name in the header row. Expected as many fields "
            "in every row as the header has; as it is, the file would be read shifted "
            "(pandas, and batch scoring, take the first column for the row index and give "
            "each name the next column's values). To fix it, remove the comma at the end of "
            f"each row, or name column {extra} in the header row (or remove that column)."
        )


def _header_names(path: Path, header: list[str], read: list[str]) -> list[str]:
    """The column names as the file's header writes them, refusing a name given twice.

    pandas renames a repeated name silently (the second `Balance` becomes `Balance.1`, a
    column the file does not have) and, reading values with `skipinitialspace`, drops the
    spaces before a name too: batch scoring reads the header as it is, so training must
    see the same names (`prepare` then refuses names with surrounding spaces)."""
    if len(header) != len(read):
        return read  # pandas read the header differently (refused elsewhere if it matters)
    seen: dict[str, int] = {}
    for number, name in enumerate(header, start=1):
        if name.strip() and name.strip() in seen:
            raise DataError(
                f"{path} names two columns {name.strip()!r} (columns {seen[name.strip()]} and "
                f"{number} of the header); expected each column named once, or which one a "
                "schema and the model mean cannot be told. Rename or remove one of them."
            )
        seen[name.strip()] = number
    # an empty name keeps the one pandas gives it ("Unnamed: 3"), as batch scoring reads it
    # (a schema may name it so); `prepare` refuses it by its position unless it is empty
    return [raw if raw.strip() and raw.strip() == str(col).strip() else col
            for raw, col in zip(header, read, strict=True)]


def _refuse_unnamed_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Refuse a Parquet column whose name is empty: no schema, model or batch file can
    name it."""
    for number, name in enumerate(map(str, frame.columns), start=1):
        if not name.strip():
            raise DataError(
                f"column {number} of {path} has no name; expected every column named, or the "
                "schema, the model and batch scoring cannot refer to it. Name it in the file "
                "(then describe it in the schema, or list it under `drop:`), or remove the "
                "column, and save the Parquet file again."
            )


def _unnamed_columns(frame: pd.DataFrame, unnamed: dict[str, int], schema: DatasetSchema,
                     dropped: dict[str, str]) -> pd.DataFrame:
    """`frame` without the CSV columns whose header cell is empty and which are empty in
    every row (a spreadsheet's trailing commas), each reported in `dropped` by its
    position. One holding values is refused by its position, not by the name pandas
    invents ("Unnamed: 8"), unless the schema names it so (a `drop:` written before)."""
    mentioned = schema.excluded | set(schema.features)
    for name, number in unnamed.items():
        if name not in frame.columns or name in mentioned:
            continue
        values = frame[name]
        text = values.astype("string").str.strip()
        given = text.notna() & (text != "")
        if not given.any():
            frame = frame.drop(columns=[name])
            dropped[f"column {number} (no name in the header row)"] = \
                f"is empty in all {len(values)} rows"
            continue
        first = given.to_numpy().nonzero()[0][0]
        index = (" (a first column without a name is often a row index saved with the data: "
                 "pandas writes none with to_csv(index=False))" if number == 1 else "")
        raise DataError(
            f"column {number} has no name in the header row but holds values (such as "
            f"{str(text.iloc[first])!r} in row {_rows(frame.index[[first]])}); expected every "
            "column named in the header, or the schema, the model and batch scoring cannot "
            "refer to it. Name it in the header row (then describe it in the schema, or list "
            f"it under `drop:`), or remove the column from the file{index}."
        )
    return frame


def _refuse_spaced_names(frame: pd.DataFrame, schema: DatasetSchema) -> None:
    """Refuse a column the served model reads by name (a candidate feature, the id, the
    contact or value column) whose name has spaces around it: training reads names
    stripped, but batch scoring and the API name columns exactly as the file does, so
    the model could not score the very file it was trained on."""
    served_roles = {schema.id_column, schema.contact_column, schema.value_column}
    for raw in map(str, frame.columns):
        name = raw.strip()
        if raw == name or (name in schema.excluded and name not in served_roles):
            continue
        raise DataError(
            f"column {raw!r} has spaces around its name in the header; training would read "
            f"it as {name!r}, but batch scoring and the API name columns exactly as the file "
            f"does, so the model could not score this file. Remove the spaces from the "
            f"header (name it {name!r}), or list it under `drop: [{name}]` if it is not used."
        )


def _refuse_infinite(col: str, numbers: pd.Series) -> None:
    """Refuse a numeric candidate holding infinite values (`inf` in a CSV, a Parquet
    float): the served model accepts finite numbers only, and training's range (hence
    the accepted range) would be infinite."""
    values = pd.to_numeric(numbers, errors="coerce").astype("float64")
    infinite = np.isinf(values.to_numpy(dtype=np.float64, na_value=np.nan))
    if not infinite.any():
        return
    raise DataError(
        f"column {col!r} holds infinite values in rows {_rows(numbers.index[infinite])} "
        f"(such as {float(values[infinite].iloc[0])}); expected finite numbers, or an empty "
        "field when the value is unknown. Replace them in the file with the real value or "
        "leave the field empty (a division by zero upstream is the usual cause)."
    )


def _coerce(frame: pd.DataFrame, schema: DatasetSchema, columns: list[str],
            missing: tuple[str, ...] = ()) -> list[str]:
    """Turn numeric-looking text columns into numbers in place; return their names.

    `missing`: the texts that are missing values in a column read as numbers (a CSV's
    "NA", "null", ...: `MISSING_MARKERS`, as batch scoring reads a number column); they
    take no part in deciding whether a column is numbers, and a column read as text
    (a category) keeps them as they are, as batch scoring reads a category."""
    coerced = []
    for col in columns:
        series = frame[col]
        note = schema.features.get(col)
        if note is not None and note.type in ("categorical", "ordinal"):
            frame[col] = category_text(series)
            continue
        if pd.api.types.is_numeric_dtype(series):
            if not pd.api.types.is_bool_dtype(series):
                _refuse_infinite(col, series)
            continue
        text = series.astype("string").str.strip()
        text = text.mask(text == "")
        # matched as the reader gave them (leading spaces skipped), as batch scoring does
        marker = (series.isin(missing) if missing
                  else pd.Series(False, index=series.index)).to_numpy(dtype=bool)
        _refuse_dates(col, series, text.mask(marker))
        present = text.notna() & ~marker
        if marker.any() and not present.any():
            # nothing but missing markers: a number column nobody filled
            frame[col] = pd.Series(np.nan, index=series.index, dtype="float64")
            continue
        numbers = pd.to_numeric(text.mask(marker), errors="coerce")
        ok = numbers.notna() & present
        share = ok.sum() / max(1, present.sum())
        if share < 1.0:
            _refuse_comma_numbers(col, text[present])
            _refuse_decorated_numbers(col, text[present])
        if share == 1.0 or (note is not None and note.type == "numeric"):
            bad = present & ~ok
            if bad.any():
                raise DataError(
                    f"column {col!r} is declared numeric but rows {_rows(frame.index[bad])} "
                    f"hold text such as {str(text[bad].iloc[0])!r}; fix those values or "
                    "remove `type: numeric` from its schema notes"
                )
            _refuse_infinite(col, numbers)
            frame[col] = numbers.astype("float64")
            if not pd.api.types.is_numeric_dtype(series):
                coerced.append(col)
        elif share >= _NUMERIC_SHARE:
            bad = present & ~ok
            raise DataError(
                f"column {col!r} mixes numbers and text: {share:.0%} of its values are numbers "
                f"but rows {_rows(frame.index[bad])} hold text such as {str(text[bad].iloc[0])!r}. "
                "Fix those values, or declare the column `type: categorical` in the schema's "
                "features notes if it really is a category."
            )
        else:
            frame[col] = text.astype("str").where(text.notna())
    return coerced


def _shown_value(value: object) -> str:
    """A cell's value as a report shows it: text quoted, a whole number without ".0"."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return repr(str(value))


def _constant_columns(candidates: pd.DataFrame) -> dict[str, str]:
    """The candidates with one value in every row, or none: column -> why. A column with
    one value in some rows and nothing in the others still tells customers apart."""
    out: dict[str, str] = {}
    rows = len(candidates)
    for col in candidates.columns:
        values = candidates[col]
        present = values.dropna()
        if present.empty:
            out[col] = f"is empty in all {rows} rows"
        elif len(present) == rows and present.nunique() == 1:
            out[col] = f"holds the one value {_shown_value(present.iloc[0])} in all {rows} rows"
    return out


# a date or a date and time, as files write them: 2024-03-31, 2024-03-31T12:00:00Z, 31/03/2024
_DATE = r"\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
_DATE_TEXT = rf"^(?:{_DATE}|\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}})$"


def _refuse_dates(col: str, series: pd.Series, text: pd.Series) -> None:
    """Refuse a candidate column of dates (a date type, or text that is all dates) that
    the schema did not declare a category: each date would be a category of its own, and
    a customer scored later would carry a date the model never saw (refused at scoring)."""
    present = text.dropna()
    # the first values decide for most columns; only one that starts with dates is read whole
    dates = (pd.api.types.is_datetime64_any_dtype(series)
             or (len(present) > 0 and bool(present.head(1000).str.fullmatch(_DATE_TEXT).all())
                 and bool(present.str.fullmatch(_DATE_TEXT).all())))
    if not dates:
        return
    raise DataError(
        f"column {col!r} holds dates (such as {str(present.iloc[0])!r}); a date is not a "
        "feature as it is: each one would be a category of its own, and customers scored "
        "later carry dates the model never saw. Derive a number from it in the file (for "
        f"example the months since {col}), or list it under `drop: [{col}]` in the schema."
    )


# a number written with a comma: a decimal comma (29,85), or thousands separated by
# commas (1,234) or, with a decimal comma, by dots (1.234,5)
_COMMA_NUMBER = r"^[+-]?(?:\d+|\d{1,3}(?:\.\d{3})+)(?:,\d+)?$|^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$"


def _refuse_comma_numbers(col: str, present: pd.Series) -> None:
    """Refuse a candidate whose values are all numbers, some written with a comma (a
    decimal comma, as European exports write them, or a thousands separator): read as
    text, each amount would be a category of its own, and a client sending the number
    would be refused. Which of the two the comma is cannot be told from the file."""
    if not len(present) or not present.str.contains(",", regex=False).any():
        return
    if not bool(present.str.fullmatch(_COMMA_NUMBER).all()):
        return
    example = str(present[present.str.contains(",", regex=False)].iloc[0])
    raise DataError(
        f"column {col!r} holds numbers written with a comma (such as {example!r}); numbers "
        "are read with a decimal point and no thousands separator. If the comma is the "
        "decimal separator, save the file with decimal points (29.85, not 29,85); if it "
        "separates thousands, remove it; if the column is a category, declare it "
        f"`type: categorical` in the schema's features notes (features: {{{col}: "
        "{type: categorical}})."
    )


# an amount with a currency sign or a percentage: $1,234.50, 1 234,50 €, -12.5%, EUR 30
_DECORATED_NUMBER = (r"^[+-]?(?:[$€£¥]|EUR|USD|GBP)?\s?[+-]?\d[\d,.\s\u00a0\u202f']*"
                     r"\s?(?:[$€£¥%]|EUR|USD|GBP)?$")
_DECORATION = r"[$€£¥%]|EUR|USD|GBP"


def _refuse_decorated_numbers(col: str, present: pd.Series) -> None:
    """Refuse a candidate whose values are all amounts written with a currency sign or a
    percent sign ($1,234.50, 12%): read as text, each amount would be a category of its
    own (refused as rare categories, whose advice does not fit an amount)."""
    if not len(present) or not present.str.contains(_DECORATION).any():
        return
    if not bool(present.str.fullmatch(_DECORATED_NUMBER).all()):
        return
    example = str(present[present.str.contains(_DECORATION)].iloc[0])
    raise DataError(
        f"column {col!r} holds numbers written with a currency or percent sign (such as "
        f"{example!r}); expected plain numbers with a decimal point and no thousands "
        "separator (1234.50, 12). Save the column as plain numbers in the file (put the "
        f"currency or unit in its schema notes: features: {{{col}: {{unit: {{en: ..., fr: "
        "...}}})."
    )


def _refuse_single_group(col: str, groups: pd.Series) -> None:
    """Refuse a sensitive attribute with one value in every row: the fairness audit
    compares groups, so it would measure nothing, and the model would pass the fairness
    gate as if the schema named no sensitive attribute."""
    values = groups.unique()
    if len(values) != 1:
        return
    raise DataError(
        f"sensitive attribute {col!r} holds the one value {str(values[0])!r} in all "
        f"{len(groups)} rows; expected at least two groups to compare, or the fairness audit "
        "measures nothing. Fill the column with each customer's real value, add the rows of "
        f"the other groups, or remove {col!r} from `sensitive:` (with no sensitive attribute "
        "the model card says \"not audited\")."
    )


def _align_target(target: pd.Series, positive: str) -> pd.Series:
    """Read an integer, float or boolean target the way the schema names its positive value:
    `positive: 1` matches 1, 1.0 and True; `positive: true` (or Yes) matches True and, in a
    target of 0 and 1, 1."""
    if (target == positive).any():
        return target
    numbers = pd.to_numeric(target, errors="coerce")
    try:
        wanted = float(positive)
    except ValueError:
        wanted = None
    if wanted is not None and numbers.notna().all() and (numbers == wanted).any():
        return target.where(numbers != wanted, positive)
    lowered = target.str.lower()
    if set(lowered.unique()) <= {"true", "false"} and (positive.lower() in ("yes", "true")
                                                       or wanted == 1):
        return target.where(lowered != "true", positive)
    # `positive: true` (which YAML gives as Yes) on a 0/1 target: 1 is the true outcome
    if positive.lower() in ("yes", "true") and numbers.notna().all() \
            and set(numbers.unique()) <= {0.0, 1.0}:
        return target.where(numbers != 1, positive)
    return target


def prepare(frame: pd.DataFrame, schema: DatasetSchema, pseudonym_key: str, *,
            drop_constant: bool = True) -> PreparedData:
    """Check `frame` against `schema` and split it into candidates, target, sensitive, ids.

    Training drops each candidate with one value in every row, or empty in every row
    (`drop_constant`, reported in `dropped_constant`) and refuses a data set where every
    candidate is so. Evaluating a fixed model (`drop_constant=False`) keeps them: a
    column constant in that file is still the model's input (an empty one is refused)."""
    read = frame.attrs.get(_READ, {})  # what `load_table` learnt from the file
    markers = tuple(read.get("missing", ()))
    dropped: dict[str, str] = {}
    frame = _unnamed_columns(frame.copy(), dict(read.get("unnamed", {})), schema, dropped)
    _refuse_spaced_names(frame, schema)
    frame.columns = [str(c).strip() for c in frame.columns]
    if schema.contact_column in frame.columns:  # personal data training never reads
        frame = frame.drop(columns=[schema.contact_column])
    required = [schema.target.column, *schema.sensitive]
    if schema.id_column:
        required.append(schema.id_column)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"column(s) {missing} named in schema {schema.name!r} are not in the data; "
            f"the data has {list(frame.columns)[:30]}. Rename the columns or fix the schema."
        )
    unknown_notes = [c for c in schema.features if c not in frame.columns]
    if unknown_notes:
        raise DataError(f"the schema's `features` notes name column(s) {unknown_notes} that the "
                        "data does not have; remove the notes or fix the column names")

    for col in frame.columns:
        if col in schema.drop or (drop_constant and col not in schema.excluded):
            continue  # a candidate empty in every row is dropped below, and reported
        values = frame[col]
        blank = values.isna() | (values.astype("string").str.strip() == "")
        if blank.all():
            raise DataError(
                f"column {col!r} is empty in every row; fill it, or list it under `drop` in "
                "the schema so it is ignored"
            )

    target = frame[schema.target.column].astype("string").str.strip()
    if target.isna().any():
        raise DataError(
            f"target column {schema.target.column!r} is empty in rows "
            f"{_rows(frame.index[target.isna()])}; every row needs a known outcome. "
            "Remove those rows or fill the outcome."
        )
    positive = schema.target.positive
    target = _align_target(target, positive)
    values = sorted(target.unique().tolist())
    if len(values) == 1:
        raise DataError(
            f"target column {schema.target.column!r} has a single class {values[0]!r} in all "
            f"{len(frame)} rows; a churn model needs both churners and stayers. "
            "Add rows of the other class."
        )
    if positive not in values:
        raise DataError(
            f"target column {schema.target.column!r} never holds the positive value "
            f"{positive!r} given in the schema; it holds {values}. Set `target.positive` to the "
            "value that means the customer left."
        )
    if len(values) > 2:
        # the commonest other value is the negative class; the rest are unexpected
        negative = target[target != positive].value_counts().index[0]
        bad = (target != positive) & (target != negative)
        raise DataError(
            f"target column {schema.target.column!r} must hold two values ({positive!r} and "
            f"{negative!r}) but holds {values}; rows {_rows(frame.index[bad])} hold unexpected "
            "values. Map them to the two outcomes."
        )
    y = (target == positive).to_numpy(dtype=np.int8)

    pseudonyms = None
    if schema.id_column:
        ids = frame[schema.id_column].astype("string").str.strip()
        if ids.isna().any():
            raise DataError(f"id column {schema.id_column!r} is empty in rows "
                            f"{_rows(frame.index[ids.isna()])}; every customer needs an id")
        dup = ids.duplicated(keep=False)
        if dup.any():
            raise DataError(
                f"id column {schema.id_column!r} repeats ids in rows {_rows(frame.index[dup])}; "
                "expected one row per customer. Remove the duplicates."
            )
        pseudonyms = ids.map(Pseudonymiser(pseudonym_key)).astype("str")

    candidate_cols = [c for c in frame.columns if c not in schema.excluded]
    if not candidate_cols:
        raise DataError(f"schema {schema.name!r} leaves no candidate feature: every column is "
                        "the id, the target, sensitive or dropped")
    coerced = _coerce(frame, schema, candidate_cols, markers)
    if drop_constant:
        constant = _constant_columns(frame[candidate_cols])
        if len(constant) == len(candidate_cols):
            listed = "; ".join(f"{c!r} {why}" for c, why in list(constant.items())[:10])
            more = f" (and {len(constant) - 10} more)" if len(constant) > 10 else ""
            raise DataError(
                f"every candidate feature is constant, so a model would have nothing to learn "
                f"from: {listed}{more}; expected at least one column whose values differ "
                "between customers (the id, the target, sensitive and dropped columns are "
                "never features). Check the export (a filter, a join or an empty extract may "
                "have fixed or emptied those columns), or add the columns that describe the "
                "customers."
            )
        dropped.update(constant)
        candidate_cols = [c for c in candidate_cols if c not in constant]
        coerced = [c for c in coerced if c not in constant]
    candidates = frame[candidate_cols]
    for col in candidate_cols:
        note = schema.features.get(col)
        if note is not None and note.type == "ordinal":
            seen = set(candidates[col].dropna().unique())
            unknown = seen - set(note.order or [])
            if unknown:
                raise DataError(f"column {col!r} holds {sorted(unknown)} which its `order` "
                                f"{note.order} does not list; add them to `order`")
    # groups as categories are read (`category_text`): "Female " is "Female", a blank is
    # missing; as given, the audit would compare a group with itself
    sensitive = pd.DataFrame({c: category_text(frame[c]) for c in schema.sensitive},
                             index=frame.index, columns=list(schema.sensitive))
    sensitive = sensitive.astype("string").fillna("(missing)").astype("str")
    for col in schema.sensitive:
        _refuse_single_group(col, sensitive[col])
    return PreparedData(
        schema=schema,
        candidates=candidates.reset_index(drop=True),
        y=y,
        sensitive=sensitive.reset_index(drop=True),
        pseudonyms=None if pseudonyms is None else pseudonyms.reset_index(drop=True),
        coerced=coerced,
        rows_with_missing=int(candidates.isna().any(axis=1).sum()),
        dropped_constant=dropped,
    )
