"""The dataset schema: the YAML file beside a data set that says what its columns are.

Training validates data against it; batch scoring reads it to find the id column.

```yaml
name: telco
id_column: customerID            # optional; pseudonymised, never a feature
contact_column: email            # optional; the customer's e-mail address: batch scoring
                                 # stores it apart (to tell them things); never a feature
value_column: TotalCharges       # optional; what keeping the customer is worth (uplift
                                 # targeting's value); read apart, a feature may be it too
target: {column: Churn, positive: "Yes"}
sensitive: [gender, SeniorCitizen, Partner, Dependents]   # audited, never features
drop: []                          # columns never to use
not_leaking: []                   # strong candidates known not to be computed from the outcome
features:                         # optional notes per column
  Contract:
    type: ordinal                 # numeric | categorical | ordinal
    order: [Month-to-month, One year, Two year]
    monotone: decreasing          # optional constraint: increasing | decreasing
    label: {en: Contract type, fr: Type de contrat}
    values: {Month-to-month: {en: month-to-month, fr: mensuel sans engagement}}
    description: ...
    purpose: ...
    actionable: {direction: increase}   # recourse: it may change, only this way
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.spec import Actionability, Localized

# What a CSV cell holds when a number is unknown, as R, Excel, SQL exports and pandas write
# it (pandas' documented default list, exactly as spelt: "NA", "N/A", "#N/A", "null", an
# empty field...). Training and batch scoring read a CSV's number columns with these as
# missing values; a category column keeps them as text (only an empty field is missing
# there: "NA" may be a category, Namibia or "not applicable").
MISSING_MARKERS: tuple[str, ...] = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


class SchemaError(ValueError):
    """The schema file itself is wrong (not the data)."""


class TargetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str
    positive: str

    @model_validator(mode="before")
    @classmethod
    def _stringify(cls, data: object) -> object:
        # YAML reads `positive: Yes` as True and `positive: 1` as 1: compare as text.
        if isinstance(data, dict) and "positive" in data and not isinstance(data["positive"], str):
            value = data["positive"]
            data = {**data, "positive": ("Yes" if value else "No") if isinstance(value, bool)
                    else str(value)}
        return data


class FeatureNote(BaseModel):
    """Optional notes on one column: its type, order, constraint and human words."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["numeric", "categorical", "ordinal"] | None = None
    order: list[str] | None = None
    monotone: Literal["increasing", "decreasing"] | None = None
    label: Localized | None = None
    values: dict[str, Localized] = Field(default_factory=dict)
    unit: Localized | None = None
    unit_one: Localized | None = None  # the unit's singular ("month" / "mois")
    # how each value reads as a sentence about the customer, in the third person, without
    # the subject: {Month-to-month: {en: is on a month-to-month contract, fr: ...}}
    sentences: dict[str, Localized] = Field(default_factory=dict)
    # numbers: one such predicate with {value} ("has been with us for {value}")
    sentence: Localized | None = None
    # what the column is, {en: ..., fr: ...} (a plain text is taken as English): the
    # customer's copy and the compliance report show it in the reader's language
    description: Localized | str | None = None
    # why the column may be used, {en: ..., fr: ...} (a plain text is taken as English);
    # a kept feature without one is shown with `models.spec.NO_PURPOSE` (see
    # `missing_purposes`)
    purpose: Localized | str | None = None
    # sensitive numeric attributes: the fairness audit's group edges (e.g. ages [30, 45, 60])
    bins: list[float] | None = None
    # numeric features: the values the served model accepts, [lowest, highest]
    # (default: training's range widened by half its span on each side)
    range: tuple[float, float] | None = None
    # recourse: what may change to lower a customer's risk (`true`: any direction, any
    # value), e.g. {direction: increase} for a contract; absent or `false`: immutable
    actionable: Actionability | None = None

    @model_validator(mode="before")
    @classmethod
    def _value_keys_as_text(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("actionable"), bool):
            data = {**data, "actionable": {} if data["actionable"] else None}
        if isinstance(data, dict) and isinstance(data.get("values"), dict):
            data = {**data, "values": {str(k): v for k, v in data["values"].items()}}
        if isinstance(data, dict) and isinstance(data.get("sentences"), dict):
            data = {**data, "sentences": {str(k): v for k, v in data["sentences"].items()}}
        if isinstance(data, dict) and isinstance(data.get("order"), list):
            data = {**data, "order": [str(v) for v in data["order"]]}
        return data

    @model_validator(mode="after")
    def _order_for_ordinal(self) -> FeatureNote:
        if self.type == "ordinal" and not self.order:
            raise ValueError("an ordinal feature needs `order`: its categories, lowest first")
        if self.sentence is not None and not all(
                "{value}" in self.sentence.get(lang) for lang in ("en", "fr")):
            raise ValueError("`sentence` words a number: put {value} where the number goes in "
                             "both languages (en: has been with us for {value})")
        if self.order and self.sentences:
            unknown = sorted(set(self.sentences) - set(self.order))
            if unknown:
                raise ValueError(f"`sentences` names {unknown}, not in `order`; word only the "
                                 "listed categories")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range {list(self.range)} must be [lowest, highest] with "
                             "lowest < highest")
        if self.actionable is not None and self.type is not None:
            monotone = {"increasing": 1, "decreasing": -1, None: 0}[self.monotone]
            self.actionable.check_kind("this feature", self.type,
                                       self.order if self.type == "ordinal" else None,
                                       monotone if self.type != "categorical" else 0)
        return self


class DatasetSchema(BaseModel):
    """What a data set's columns are, for training and batch scoring."""

    model_config = ConfigDict(extra="forbid")
    name: str
    id_column: str | None = None
    # the customer's contact address (issue 15): personal data, read only by batch scoring
    # to store it apart; never a feature, never read by training
    contact_column: str | None = None
    # what keeping the customer is worth (issue 17): read by batch scoring apart from the
    # features, for uplift targeting's expected value (uplift x value - contact cost). A
    # feature may be it too (it is then read, not removed); never training's business
    value_column: str | None = None
    target: TargetSpec
    sensitive: list[str] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)
    # candidates that alone predict the outcome almost perfectly but are known before the
    # customer leaves: acknowledged by name, so the leak guard lets them through
    not_leaking: list[str] = Field(default_factory=list)
    features: dict[str, FeatureNote] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _no_overlap(self) -> DatasetSchema:
        roles: dict[str, str] = {}
        named = [(self.target.column, "target")]
        if self.id_column:
            named.append((self.id_column, "id_column"))
        if self.contact_column:
            named.append((self.contact_column, "contact_column"))
        named += [(c, "sensitive") for c in self.sensitive] + [(c, "drop") for c in self.drop]
        for column, role in named:
            if column in roles and roles[column] != role:
                raise ValueError(
                    f"column {column!r} is listed both as {roles[column]} and as {role}; "
                    "give each column one role"
                )
            roles[column] = role
        if self.value_column:
            # the value decides who is called: never an attribute audited for bias, the
            # outcome itself, an id or an address
            taken = {self.target.column: "target", **{c: "sensitive" for c in self.sensitive}}
            if self.id_column:
                taken[self.id_column] = "id_column"
            if self.contact_column:
                taken[self.contact_column] = "contact_column"
            if self.value_column in taken:
                raise ValueError(
                    f"column {self.value_column!r} is the value_column and the "
                    f"{taken[self.value_column]}; name a column of what keeping the customer "
                    "is worth (monthly charges, contract value) that has no other role but "
                    "a feature or `drop`")
        if self.contact_column and self.contact_column in self.features:
            raise ValueError(
                f"column {self.contact_column!r} is the contact_column (an address, personal "
                "data) and can never be a feature; remove its notes under `features`")
        # recourse never proposes to change who a customer is, nor an id or a column the
        # model never reads
        for column, note in self.features.items():
            if note.actionable is not None and column in roles:
                raise ValueError(
                    f"column {column!r} is marked actionable but is {roles[column]}: "
                    "a sensitive attribute, an id, the target or a dropped column is never "
                    "proposed as a change; remove its `actionable`")
        return self

    @property
    def excluded(self) -> set[str]:
        """Columns that can never be features."""
        out = {self.target.column, *self.sensitive, *self.drop}
        if self.id_column:
            out.add(self.id_column)
        if self.contact_column:
            out.add(self.contact_column)
        return out

    def missing_purposes(self, kept: list[str]) -> list[str]:
        """The kept features whose notes give no purpose.

        Training accepts them (only `name` and `target` are required, and every schema shape
        trains): refusing would stop a data scientist's first run on a data set brought as
        it is. Instead the model card lists them, and every page says plainly that no reason
        was given (`models.spec.NO_PURPOSE`) rather than leaving "Why it is used" blank or
        inventing one."""
        return [c for c in kept if not (c in self.features and self.features[c].purpose)]

    @classmethod
    def load(cls, path: str | Path) -> DatasetSchema:
        """Read and check a schema YAML file, with an error that says how to fix it."""
        path = Path(path)
        if not path.is_file():
            raise SchemaError(f"schema file {path} does not exist; pass SCHEMA=<path to a .yaml>")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise SchemaError(f"schema file {path} is not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise SchemaError(
                f"schema file {path} must be a YAML mapping with at least `name` and `target`; "
                f"got {type(raw).__name__}"
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            lines = [
                f"- {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
                for e in exc.errors()
            ]
            raise SchemaError(
                f"schema file {path} does not match the dataset schema format "
                "(see README, 'Train on your own data'):\n" + "\n".join(lines)
            ) from exc
