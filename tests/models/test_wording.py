"""Words, not certainties: a probability is never worded as 0 % or 100 %, and its rank
among reference scores reads right in English and French. Reasons read as sentences, with
plurals and units right, effects in words (never log-odds), and a purpose for every feature."""

import re
from pathlib import Path

import pytest

from models.dataset_schema import DatasetSchema, SchemaError
from models.reasons import bar_word, count_text, effect_key, reason_text, second_person
from models.spec import NO_PURPOSE, FeatureSpec, Localized, singular_of
from models.wording import describe, likelihood, rank, reference_quantiles, shown_percent

CERTAIN = re.compile(r"(?<![\d.,])(0|100)\s?%")


def test_never_zero_nor_a_hundred_percent():
    for p in (0.0, 1e-9, 0.0049, 0.995, 0.9999, 1.0):
        for lang in ("en", "fr"):
            text = shown_percent(p, lang)
            assert not CERTAIN.search(text), (p, lang, text)
    assert shown_percent(0.001) == "under 1\u00a0%"
    assert shown_percent(0.999, "fr") == "plus de 99\u00a0%"
    assert shown_percent(0.5) == "50\u00a0%" and shown_percent(0.006) == "1\u00a0%"
    assert shown_percent(0.994) == "99\u00a0%"


def test_words_and_rank():
    reference = [i / 100 for i in range(100)]  # 0.00 .. 0.99
    assert likelihood(0.9) == "very high" and likelihood(0.9, "fr") == "très élevée"
    assert likelihood(0.01) == "very low" and likelihood(0.3, "fr") == "modérée"
    assert rank(0.955, reference) == "higher than 9 in 10 customers"
    assert rank(0.955, reference, "fr") == "plus élevée que pour 9 clients sur 10"
    assert rank(0.705, reference) == "higher than 7 in 10 customers"
    assert rank(0.005, reference) == "lower than 9 in 10 customers"
    assert rank(0.005, reference, "fr") == "plus faible que pour 9 clients sur 10"
    assert rank(0.495, reference) == "about average among customers"
    assert rank(0.5, []) is None
    assert rank(2.0, reference) == "higher than 9 in 10 customers"  # never "10 in 10"
    assert rank(-1.0, reference, "fr") == "plus faible que pour 9 clients sur 10"
    assert describe(0.97, reference) == "very high, higher than 9 in 10 customers"
    assert describe(0.97, []) == "very high"


def test_reference_quantiles():
    q = reference_quantiles([0.1, 0.2, 0.3, float("nan")], points=3)
    assert q == [0.1, 0.2, 0.3]
    assert reference_quantiles([]) == []


# -- reasons: plurals, units, sentences, effects (issue 16) ----------------------------------

DATASETS = Path(__file__).resolve().parents[2] / "training" / "datasets"
LOG_ODDS = re.compile(r"[+\u2212-]\d+[.,]\d\d")


def _feature(schema: DatasetSchema, name: str, kind: str, categories=()) -> FeatureSpec:
    n = schema.features[name]
    return FeatureSpec(name=name, kind=kind, categories=list(categories), label=n.label,
                       value_labels=n.values, unit=n.unit, unit_one=n.unit_one,
                       value_sentences=n.sentences, sentence=n.sentence, purpose=n.purpose)


@pytest.fixture(scope="module")
def synthetic():
    return DatasetSchema.load(DATASETS / "synthetic.yaml")


def test_counts_take_the_right_number(synthetic):
    tenure = _feature(synthetic, "tenure", "numeric")
    calls = _feature(synthetic, "SupportCalls", "numeric")
    assert tenure.display_value(1.0) == "1 month" and tenure.display_value(2.0) == "2 months"
    assert tenure.display_value(0.0) == "0 months"
    assert tenure.display_value(1.0, "fr") == "1 mois"
    assert tenure.display_value(5.0, "fr") == "5 mois"
    assert calls.display_value(3.0) == "3 support calls"
    assert calls.display_value(1.0) == "1 support call"
    assert calls.display_value(1.0, "fr") == "1 appel au support"
    assert calls.display_value(0.0, "fr") == "0 appel au support"  # French: below 2 is singular
    assert calls.display_value(4.0, "fr") == "4 appels au support"
    # no singular in the schema: derived, and never guessed wrong for invariable words
    assert singular_of("months") == "month" and singular_of("categories") == "category"
    assert singular_of("calls per day") == "call per day" and singular_of("GB") == "GB"
    assert singular_of("per month") == "per month" and singular_of("mois", "fr") == "mois"
    assert singular_of("appels", "fr") == "appel" and singular_of("fois", "fr") == "fois"
    assert count_text(1, "{n} other fact", "{n} other facts") == "1 other fact"
    assert count_text(2, "{n} other fact", "{n} other facts") == "2 other facts"
    assert count_text(1, "{n} autre élément", "{n} autres éléments", "fr") == "1 autre élément"


@pytest.mark.parametrize(("name", "kind", "value", "en", "fr"), [
    ("Contract", "ordinal", "Month-to-month", "The customer is on a month-to-month contract",
     "Le client a un contrat sans engagement"),
    ("InternetService", "categorical", "Fiber optic", "The customer has fibre optic internet",
     "Le client a Internet par la fibre optique"),
    ("PaymentMethod", "categorical", "Electronic check", "The customer pays by electronic cheque",
     "Le client paie par chèque électronique"),
    ("PaperlessBilling", "categorical", "Yes", "The customer receives bills electronically",
     "Le client reçoit les factures par voie électronique"),
    ("MultipleLines", "categorical", "No phone service", "The customer has no phone service",
     "Le client n'a pas de service téléphonique"),
    ("tenure", "numeric", 1.0, "The customer has been with us for 1 month",
     "Le client est chez nous depuis 1 mois"),
    ("SupportCalls", "numeric", 3.0, "The customer made 3 support calls in the last 6 months",
     "Le client a passé 3 appels au support ces 6 derniers mois"),
])
def test_values_read_as_sentences(synthetic, name, kind, value, en, fr):
    cats = synthetic.features[name].order or list(synthetic.features[name].values)
    f = _feature(synthetic, name, kind, cats if kind != "numeric" else ())
    assert reason_text(f, value, 0.7) == en + " \u2014 this raises the estimate a lot."
    assert reason_text(f, value, -0.05, "fr") == fr + " \u2014 cela diminue un peu l'estimation."
    for lang in ("en", "fr"):
        text = reason_text(f, value, 1.55, lang, "customer")
        assert text.startswith("You " if lang == "en" else "Vous "), text
        assert not LOG_ODDS.search(text)


def test_second_person_of_the_leading_verb():
    assert second_person("is on a contract") == "are on a contract"
    assert second_person("has no phone service") == "have no phone service"
    assert second_person("pays by cheque") == "pay by cheque"
    assert second_person("does not have the option") == "do not have the option"
    assert second_person("watches films") == "watch films"
    assert second_person("joined in May") == "joined in May"
    assert second_person("a un contrat", "fr") == "avez un contrat"
    assert second_person("n'a pas l'option", "fr") == "n'avez pas l'option"
    assert second_person("ne paie pas", "fr") == "ne payez pas"
    assert second_person("utilise la fibre", "fr") == "utilisez la fibre"


def test_without_notes_a_generic_grammatical_fact():
    plain = FeatureSpec(name="PaperlessBilling", kind="categorical", categories=["No", "Yes"])
    assert reason_text(plain, "Yes", 0.3) == \
        "Paperless billing: Yes \u2014 this clearly raises the estimate."
    assert reason_text(plain, None, -0.6, "fr") == \
        "Paperless billing\u00a0: non renseigné \u2014 cela diminue beaucoup l'estimation."


def test_effect_words_follow_sign_and_size():
    assert effect_key(0.005) == effect_key(-0.005) == "none"
    assert effect_key(0.05) == "up_little" and effect_key(-0.3) == "down_clear"
    assert effect_key(1.55) == "up_strong" and effect_key(-0.5) == "down_strong"
    assert bar_word(1.55) == "\u2191 a lot" and bar_word(-0.05, "fr") == "\u2193 un peu"
    assert bar_word(0.001) == "barely"


def test_every_kept_feature_has_a_purpose_or_says_none_was_given(synthetic):
    telco = DatasetSchema.load(DATASETS / "telco.yaml")
    for schema in (synthetic, telco):
        candidates = [c for c in schema.features if c not in schema.excluded]
        assert schema.missing_purposes(candidates) == []
        for c in candidates:
            purpose = schema.features[c].purpose
            assert isinstance(purpose, Localized) and purpose.en and purpose.fr, c
    assert synthetic.missing_purposes(["tenure", "brand_new_column"]) == ["brand_new_column"]
    plain = FeatureSpec(name="x", kind="numeric")
    assert plain.purpose_or_missing("en") == NO_PURPOSE.en
    assert "did not record why" in plain.purpose_or_missing("en")
    assert plain.purpose_or_missing("fr") == NO_PURPOSE.fr
    english_only = FeatureSpec(name="x", kind="numeric", purpose="Price matters.")
    assert english_only.purpose_or_missing("fr") == "Price matters."
    assert english_only.purpose_lang("fr") == "en"


def test_every_column_is_described_in_both_languages(synthetic):
    """The built-in schemas describe every column in English and French (the customer's
    copy and the compliance report show it in the reader's language); a plain-text
    description (an older schema or spec) is English and says so on a French page."""
    telco = DatasetSchema.load(DATASETS / "telco.yaml")
    for schema in (synthetic, telco):
        for name, note in schema.features.items():
            d = note.description
            assert isinstance(d, Localized) and d.en and d.fr and d.en != d.fr, name
    both = FeatureSpec(name="x", kind="numeric",
                       description=Localized(en="Months as a customer.", fr="Mois de présence."))
    assert both.description_text("fr") == "Mois de présence."
    assert both.description_lang("fr") == "fr"
    assert both.description_text("en") == "Months as a customer."
    plain = FeatureSpec(name="x", kind="numeric", description="Months as a customer.")
    assert plain.description_text("fr") == "Months as a customer."
    assert plain.description_lang("fr") == "en" and plain.description_lang("en") == "en"
    assert FeatureSpec(name="x", kind="numeric").description_text("fr") is None


def test_schema_refuses_a_sentence_without_its_number(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ntarget: {column: y, positive: 1}\nfeatures:\n  n:\n"
                    "    sentence: {en: has many, fr: en a {value}}\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"\{value\}"):
        DatasetSchema.load(path)


def test_contributions_rank_by_size_ties_in_feature_order_nan_last():
    """Largest |SHAP| first, ties (0.0 and -0.0 included) in feature order, NaN last: the
    order of numpy's stable argsort of -|shap|, whichever way it is computed; the rows
    the API is built from are the contributions' own fields."""
    import numpy as np

    from models.explain import Contribution, contribution_rows, contributions
    from models.spec import CalibrationSpec, DecisionSpec, ModelSpec

    names = [f"x{i}" for i in range(9)]
    spec = ModelSpec(dataset="d", target="Churn", positive_label="Yes",
                     features=[FeatureSpec(name=n, kind="numeric") for n in names],
                     calibration=CalibrationSpec(method="none"),
                     decision=DecisionSpec(contact_fraction=0.2, high_threshold=0.6,
                                           medium_threshold=0.3))
    values = dict.fromkeys(names, 1.0)
    rng = np.random.default_rng(7)
    pool = [0.0, -0.0, 0.1, -0.1, 0.5, -0.5, 2.0, np.inf, -np.inf, np.nan]
    for trial in range(300):
        shap = (rng.choice(pool, size=9) if trial % 2 else rng.normal(size=9))
        expected = [names[j] for j in np.argsort(-np.abs(shap), kind="stable")]
        rows = contribution_rows(spec, values, shap, "fr", top=None)
        assert [r[0] for r in rows] == expected, shap
        assert repr(contributions(spec, values, shap, "fr")) == repr(  # NaN != NaN
            [Contribution(*r) for r in rows])
        assert [r[0] for r in contribution_rows(spec, values, shap, top=3)] == expected[:3]
