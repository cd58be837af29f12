"""The model contract: what a trained churn model expects and how to word it.

`ModelSpec` travels inside every logged model (``spec.json`` artifact). Training
writes it; serving reads it. Nothing here knows how the model was trained or
how it is served.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.reference import FeatureReference

FeatureKind = Literal["numeric", "categorical", "ordinal"]
Lang = Literal["en", "fr"]
LANGS: tuple[str, ...] = ("en", "fr")


class Localized(BaseModel):
    """A short text in English and French."""

    en: str
    fr: str

    def get(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


def readable_name(column: str) -> str:
    """Turn a column name into words: ``MonthlyCharges`` -> ``Monthly charges``."""
    spaced = re.sub(r"[_\-]+", " ", column)
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", spaced)
    words = spaced.strip().split()
    if not words:
        return column
    out = [words[0][:1].upper() + words[0][1:]]
    out += [w if w.isupper() and len(w) > 1 else w.lower() for w in words[1:]]
    return " ".join(out)


# How far past training's range a number is still accepted, as a share of the range's span
# on each side: a customer may be older or longer with the business than any seen, but a
# value far outside says the input is wrong, and the model says nothing trustworthy there.
RANGE_MARGIN = 0.5
# Without any range (an old spec), still refuse what no quantity here can be.
MAX_MAGNITUDE = 1e9


# shown for a feature whose schema gave no purpose (training accepts such a schema, see
# `models.dataset_schema.missing_purposes`: a data set brought without notes still trains)
NO_PURPOSE = Localized(
    en="No reason given: the data scientist who trained this model did not record why this "
       "fact is used.",
    fr="Aucune raison indiquée : la personne qui a entraîné ce modèle n'a pas noté pourquoi "
       "cet élément est utilisé.",
)

# French words whose singular is the plural (ending in -s, -x or -z already)
_FR_INVARIABLE = ("is", "os", "us", "as", "ès", "x", "z")


def is_singular(number: float, lang: str = "en") -> bool:
    """Whether a count takes the singular: exactly 1 in English, below 2 in French."""
    n = abs(float(number))
    return n < 2 if lang == "fr" else n == 1


def singular_of(unit: str, lang: str = "en") -> str:
    """A unit's singular when the schema gave none: its first word without the plural -s
    ("months" -> "month", "calls per day" -> "call per day", "appels" -> "appel"), unchanged
    when that word does not look plural ("mois", "per month", "GB")."""
    first, sep, rest = unit.partition(" ")
    low = first.lower()
    plural = len(first) > 2 and low.endswith("s") and not low.endswith("ss") and first.islower()
    if lang == "fr":
        plural = plural and not low.endswith(_FR_INVARIABLE)
    elif low.endswith(("ies",)) and plural:
        return first[:-3] + "y" + sep + rest
    return (first[:-1] if plural else first) + sep + rest


class Actionability(BaseModel):
    """What may be changed about a feature to lower a customer's risk (recourse,
    `models.recourse`): the direction, the categories it may move between, and for a
    number its bounds and largest change. A feature without it is immutable."""

    model_config = ConfigDict(extra="forbid")
    # increase / decrease: along an ordinal's order, a number's axis, or for a categorical
    # the order of `allowed` (lowest first); any: any allowed value
    direction: Literal["increase", "decrease", "any"] = "any"
    # categorical/ordinal: the only categories it may move between (empty: every one); a
    # customer whose value is not among them cannot be moved
    allowed: list[str] = Field(default_factory=list)
    # numeric: the values a change may reach, [lowest, highest], within the input domain
    bounds: tuple[float, float] | None = None
    # numeric: the largest change from the customer's value (e.g. a discount of at most 20)
    max_change: float | None = Field(default=None, gt=0)
    # why it can be acted on, and by whom (shown beside an option): both languages, or
    # English only (a plain text)
    why: Localized | str | None = None

    @model_validator(mode="before")
    @classmethod
    def _allowed_as_text(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("allowed"), list):
            data = {**data, "allowed": [str(v) for v in data["allowed"]]}
        return data

    @model_validator(mode="after")
    def _coherent(self) -> Actionability:
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"bounds {list(self.bounds)} must be [lowest, highest] with "
                             "lowest < highest")
        if len(set(self.allowed)) != len(self.allowed):
            raise ValueError(f"allowed {self.allowed} repeats a category; list each once")
        return self

    def why_text(self, lang: str = "en") -> str | None:
        """Why this feature can be acted on, in `lang` when given in it."""
        if isinstance(self.why, Localized):
            return self.why.get(lang)
        return self.why or None

    def check_kind(self, feature: str, kind: str, categories: list[str] | None = None,
                   monotone: int = 0) -> None:
        """Refuse what does not fit a feature of this `kind` (raises ValueError naming the
        feature and the fix): numeric keys on a category, `allowed` on a number, a
        direction on an unordered categorical without `allowed` as its order, categories
        it does not have, or a direction that could only raise the risk under the
        feature's monotone constraint."""
        if kind == "numeric" and self.allowed:
            raise ValueError(f"{feature}: `allowed` lists categories but {feature} is a "
                             "number; give `bounds` or `max_change` instead")
        if kind != "numeric" and (self.bounds is not None or self.max_change is not None):
            raise ValueError(f"{feature}: `bounds` and `max_change` are for numbers but "
                             f"{feature} is {kind}; list the categories under `allowed`")
        if kind == "categorical" and self.direction != "any" and len(self.allowed) < 2:
            raise ValueError(f"{feature}: a categorical has no order, so direction "
                             f"{self.direction!r} needs `allowed` to give one (two or more "
                             "categories, lowest first), or use direction: any")
        if categories is not None:
            unknown = [c for c in self.allowed if c not in categories]
            if unknown:
                raise ValueError(f"{feature}: allowed {unknown} are not categories of "
                                 f"{feature} ({categories}); a change may only reach a "
                                 "category the model was trained on")
        if monotone and self.direction != "any":
            raises = (self.direction == "increase") == (monotone > 0)
            if raises:
                raise ValueError(
                    f"{feature}: direction {self.direction!r} against its monotone "
                    f"constraint ({'increasing' if monotone > 0 else 'decreasing'}) can only "
                    "raise the risk; use the other direction or drop `actionable`")


class FeatureSpec(BaseModel):
    """One model input: its type, the values training saw, and its human words."""

    name: str
    kind: FeatureKind
    # categorical: the training categories (LightGBM code = index);
    # ordinal: the categories in increasing order (code = rank).
    categories: list[str] = Field(default_factory=list)
    min: float | None = None  # the range training saw
    max: float | None = None
    # numeric: the values the model accepts (the input domain). Set from the dataset
    # schema's `range:`, else from training's range widened by `RANGE_MARGIN` of its span
    # on each side (never below 0 for a quantity training never saw negative).
    lower: float | None = None
    upper: float | None = None
    integer: bool = False  # numeric: training only saw whole numbers
    nullable: bool = True
    monotone: Literal[-1, 0, 1] = 0
    label: Localized | None = None
    value_labels: dict[str, Localized] = Field(default_factory=dict)
    unit: Localized | None = None
    # the unit's singular ("month" / "mois"); without it `models.reasons` derives one
    unit_one: Localized | None = None
    # how a fact reads as a sentence (`models.reasons`): categorical/ordinal, a predicate per
    # value ("is on a month-to-month contract"); numeric, one predicate with {value}
    # ("has been with us for {value}"); third person, the subject is added when worded
    value_sentences: dict[str, Localized] = Field(default_factory=dict)
    sentence: Localized | None = None
    # what the column is: in both languages, or English only (a plain text, older specs)
    description: Localized | str | None = None
    # why the feature may be used: in both languages, or English only (a plain text)
    purpose: Localized | str | None = None
    # what may change to lower the risk (`models.recourse`); None: immutable
    actionable: Actionability | None = None

    @model_validator(mode="after")
    def _categories_for_categoricals(self) -> FeatureSpec:
        if self.kind != "numeric" and not self.categories:
            raise ValueError(
                f"feature {self.name!r} is {self.kind} but lists no categories; "
                "give the categories seen in training"
            )
        return self

    @model_validator(mode="after")
    def _actionable_fits(self) -> FeatureSpec:
        if self.actionable is not None:
            self.actionable.check_kind(self.name, self.kind,
                                       None if self.kind == "numeric" else self.categories,
                                       self.monotone)
        return self

    def valid_range(self) -> tuple[float, float]:
        """The numbers this feature accepts, bounds included (numeric features)."""
        lo, hi = self.lower, self.upper
        if self.min is not None and self.max is not None:
            span = (self.max - self.min) or abs(self.max) or 1.0
            if lo is None:
                lo = self.min - RANGE_MARGIN * span
                if self.min >= 0:
                    lo = max(lo, 0.0)
            if hi is None:
                hi = self.max + RANGE_MARGIN * span
        lo = -MAX_MAGNITUDE if lo is None else lo
        hi = MAX_MAGNITUDE if hi is None else hi
        if self.integer and math.ceil(lo) <= math.floor(hi):
            # the same whole numbers are accepted; a person reads "from 0 to 5", not 5.5
            lo, hi = float(math.ceil(lo)), float(math.floor(hi))
        return lo, hi

    def display_label(self, lang: str = "en") -> str:
        """The human label in `lang`, or a readable form of the column name."""
        return self.label.get(lang) if self.label else readable_name(self.name)

    def display_value(self, value: object, lang: str = "en") -> str:
        """A value as a person should read it (category label, rounded number, unit)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "non renseigné" if lang == "fr" else "not known"
        if self.kind == "numeric":
            number = float(value)  # type: ignore[arg-type]
            text = f"{number:.0f}" if number.is_integer() else f"{number:,.2f}"
            if lang == "fr":
                text = text.replace(",", "\u202f").replace(".", ",")
            unit = self.unit_for(number, lang)
            return f"{text} {unit}" if unit else text
        key = str(value)
        if key in self.value_labels:
            return self.value_labels[key].get(lang)
        return key

    def unit_for(self, number: float, lang: str = "en") -> str:
        """The unit in the form `number` takes: "1 month", "2 months"; "1 mois", "1,5 mois",
        "3 appels" (French counts below 2 as singular). Empty without a unit."""
        if not self.unit:
            return ""
        plural = self.unit.get(lang)
        if not is_singular(number, lang):
            return plural
        return self.unit_one.get(lang) if self.unit_one else singular_of(plural, lang)

    def description_text(self, lang: str = "en") -> str | None:
        """What the column is, in `lang` when given in it (a plain-text description is
        English); None when the schema gave none."""
        if isinstance(self.description, Localized):
            return self.description.get(lang)
        return self.description or None

    def description_lang(self, lang: str = "en") -> str:
        """The language `description_text(lang)` is written in (a plain text is English,
        and a French page marks it so)."""
        return "en" if isinstance(self.description, str) and self.description else lang

    def purpose_text(self, lang: str = "en") -> str | None:
        """Why this feature is used, in `lang` when given in it (a plain-text purpose is
        English); None when the schema gave none (see `purpose_or_missing`)."""
        if isinstance(self.purpose, Localized):
            return self.purpose.get(lang)
        return self.purpose or None

    def purpose_lang(self, lang: str = "en") -> str:
        """The language `purpose_or_missing(lang)` is written in (a plain-text purpose is
        English even on a French page, and is marked so)."""
        return "en" if isinstance(self.purpose, str) and self.purpose else lang

    def purpose_or_missing(self, lang: str = "en") -> str:
        """The purpose, or a sentence saying plainly that none was given: a page never
        leaves "Why it is used" blank, nor invents a reason."""
        return self.purpose_text(lang) or NO_PURPOSE.get(lang)

    @property
    def signature_type(self) -> str:
        """The MLflow column type of this feature."""
        return "double" if self.kind == "numeric" else "string"


class CalibrationSpec(BaseModel):
    """Maps the raw log-odds margin to a calibrated probability."""

    method: Literal["isotonic", "sigmoid", "none"]
    # isotonic: piecewise-linear map margin -> probability (x increasing)
    x: list[float] = Field(default_factory=list)
    y: list[float] = Field(default_factory=list)
    # sigmoid (Platt on the margin): p = 1 / (1 + exp(-(a * margin + b)))
    a: float = 1.0
    b: float = 0.0
    # the range of probabilities the map gave in training: scores are clipped to it (and
    # never reach exactly 0 or 1 whatever the map)
    low: float = Field(default=0.0, ge=0.0, le=1.0)
    high: float = Field(default=1.0, ge=0.0, le=1.0)


class DecisionSpec(BaseModel):
    """Risk-band thresholds on the calibrated score, derived at training time."""

    contact_fraction: float = Field(ge=0.0, le=1.0)
    high_threshold: float = Field(ge=0.0, le=1.0)
    medium_threshold: float = Field(ge=0.0, le=1.0)
    basis: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> DecisionSpec:
        if self.medium_threshold > self.high_threshold:
            raise ValueError(
                f"medium_threshold {self.medium_threshold} is above high_threshold "
                f"{self.high_threshold}; the medium band must start below the high band"
            )
        return self


class ModelSpec(BaseModel):
    """Everything a consumer needs to feed, read and explain the model."""

    spec_version: int = 1
    dataset: str
    target: str
    positive_label: str
    features: list[FeatureSpec]
    calibration: CalibrationSpec
    decision: DecisionSpec
    base_value: float = 0.0
    training_rows: int = 0
    trained_at: str = ""
    # quantiles (0 %, 1 %, ..., 100 %) of the calibrated out-of-fold scores of the training
    # rows: what a score is ranked against on pages ("higher than 9 in 10 customers");
    # empty in older specs (`models.wording`)
    reference_scores: list[float] = Field(default_factory=list)
    # how each feature (encoded, by name) and the out-of-fold score were distributed in the
    # training rows: what drift is measured against (`models.reference`); empty in older
    # specs, whose drift cannot be measured
    feature_reference: dict[str, FeatureReference] = Field(default_factory=dict)
    score_reference: FeatureReference | None = None

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> FeatureSpec:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)
