"""Faithfulness of the words: every reason shown says what its exact SHAP value says.

For the Telco-trained and the synthetic-trained models (the training fixtures), on real
rows, every feature's reason, for staff and for the customer, in English and in French:

- its direction word agrees with the sign of its SHAP value ("raises" for a positive
  contribution, "lowers" for a negative one, "almost no difference" only for a negligible one);
- reasons come in the order of |SHAP| (the rank), and a reason never gets a stronger word than
  one ranked above it, nor a weaker word than one ranked below;
- the chart's mark beside each bar (arrow and size) agrees the same way;
- the fact names the feature's value as the model read it, and no log-odds figure is shown.

The expected phrases are written here, apart from `models.reasons`, so a change of wording
that says something else fails this test.
"""

from __future__ import annotations

import re

import mlflow
import numpy as np
import pandas as pd
import pytest

from models.explain import contributions, decoded_values
from models.reasons import NEGLIGIBLE_EFFECT, bar_word
from tests.training.conftest import TELCO_CSV, synthetic_run, telco_run  # noqa: F401
from training.synthetic import generate

# (phrase at the end of a reason, direction, strength 0..3), both languages
EFFECTS = {
    "en": [("raises the estimate a lot.", 1, 3), ("clearly raises the estimate.", 1, 2),
           ("raises the estimate a little.", 1, 1), ("lowers the estimate a lot.", -1, 3),
           ("clearly lowers the estimate.", -1, 2), ("lowers the estimate a little.", -1, 1),
           ("makes almost no difference to the estimate.", 0, 0)],
    "fr": [("augmente beaucoup l'estimation.", 1, 3),
           ("augmente nettement l'estimation.", 1, 2), ("augmente un peu l'estimation.", 1, 1),
           ("diminue beaucoup l'estimation.", -1, 3), ("diminue nettement l'estimation.", -1, 2),
           ("diminue un peu l'estimation.", -1, 1),
           ("ne change presque rien à l'estimation.", 0, 0)],
}
BARS = {"en": {"a lot": 3, "clearly": 2, "a little": 1, "barely": 0},
        "fr": {"beaucoup": 3, "nettement": 2, "un peu": 1, "à peine": 0}}
LOG_ODDS = re.compile(r"[+\u2212-]\d+[.,]\d\d(?!\d)")
ROWS = 400


def _words(text: str, lang: str) -> tuple[int, int]:
    """(direction, strength) said by a reason's last words (the longest phrase that ends
    it: "raises the estimate a little." is not read as "raises the estimate.")."""
    found = [(len(p), d, s) for p, d, s in EFFECTS[lang] if text.endswith(" " + p)]
    assert found, f"no known effect words at the end of: {text!r}"
    _, direction, strength = max(found)
    return direction, strength


def _bar(mark: str, lang: str) -> tuple[int, int]:
    direction = 1 if mark.startswith("\u2191") else -1 if mark.startswith("\u2193") else 0
    return direction, BARS[lang][mark.lstrip("\u2191\u2193 ")]


def _check_model(model, frame: pd.DataFrame) -> dict[str, set[int]]:  # noqa: ANN001
    """Check every reason of every row; the directions seen per feature."""
    spec = model.spec
    for f in spec.features:  # the CSV's numbers as the model takes them ("" -> missing)
        if f.kind == "numeric":
            frame[f.name] = pd.to_numeric(frame[f.name], errors="coerce")
    exp = model.explain_frame(frame[spec.feature_names])
    seen: dict[str, set[int]] = {f.name: set() for f in spec.features}
    for row in range(len(frame)):
        values = decoded_values(spec, exp.X[row])
        shap = exp.shap[row]
        for lang in ("en", "fr"):
            for audience in ("staff", "customer"):
                reasons = contributions(spec, values, shap, lang, audience=audience)
                assert {c.feature for c in reasons} == set(spec.feature_names)
                sizes = [abs(c.shap) for c in reasons]
                assert sizes == sorted(sizes, reverse=True), "reasons out of rank order"
                strengths = []
                for c in reasons:
                    direction, strength = _words(c.text, lang)
                    if abs(c.shap) < NEGLIGIBLE_EFFECT:
                        assert direction == 0, c
                    else:
                        assert direction == np.sign(c.shap), (c.shap, c.text)
                    assert _bar(bar_word(c.shap, lang), lang) == (direction, strength), c
                    assert not LOG_ODDS.search(c.text), c.text
                    f = spec.feature(c.feature)
                    if f.kind == "numeric" and c.value is not None:
                        number = f.display_value(c.value, lang).split(" ")[0]
                        assert number in c.text, (number, c.text)
                    elif c.value is not None:
                        said = f.value_sentences.get(str(c.value))
                        if said is None:  # no sentence in the schema: "Label: value"
                            assert f.display_value(c.value, lang) in c.text, c.text
                        else:  # the value's own predicate (its verb in the reader's person)
                            rest = said.get(lang).split(" ", 1)[-1]
                            assert rest in c.text, (c.value, c.text)
                    strengths.append(strength)
                    seen[c.feature].add(direction)
                # a stronger word never follows a weaker one: the words keep the rank
                assert strengths == sorted(strengths, reverse=True), \
                    [(c.feature, round(c.shap, 3), c.text) for c in reasons]
    return seen


def _every_feature_worded_both_ways(seen: dict[str, set[int]]) -> None:
    """Every feature the model uses was checked with a real direction (not only "almost no
    difference"), so the test covers each one."""
    quiet = [name for name, dirs in seen.items() if not dirs - {0}]
    assert not quiet, f"features never worded with a direction: {quiet}"


def _load(run) -> object:  # noqa: ANN001
    mlflow.set_tracking_uri(run.settings.tracking_uri)
    return mlflow.pyfunc.load_model(run.result.model_uri).unwrap_python_model()


def test_words_agree_with_shap_on_the_synthetic_model(synthetic_run):  # noqa: F811
    model = _load(synthetic_run)
    frame = generate(rows=ROWS, seed=11)
    seen = _check_model(model, frame)
    _every_feature_worded_both_ways(seen)
    assert len(seen) == len(model.spec.features) >= 3


def test_words_agree_with_shap_on_the_telco_model(telco_run):  # noqa: F811
    model = _load(telco_run)
    frame = pd.read_csv(TELCO_CSV, dtype=str).sample(ROWS, random_state=3)
    seen = _check_model(model, frame.reset_index(drop=True))
    _every_feature_worded_both_ways(seen)
    # the Telco schema words every kept feature as a sentence, with a purpose
    for f in model.spec.features:
        assert f.purpose_text("en") and f.purpose_text("fr"), f.name
        assert f.value_sentences or f.sentence, f.name


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_reader_of_the_words_is_exercised(lang):
    """The phrase reader tells the words apart (a weaker phrase is not read as a stronger
    one), so the checks above can fail."""
    assert _words("X \u2014 this raises the estimate a little.", "en") == (1, 1)
    assert _words("X \u2014 this clearly lowers the estimate.", "en") == (-1, 2)
    with pytest.raises(AssertionError):  # the old, vaguer words are not read as any size
        _words("X \u2014 this lowers the estimate.", "en")
    assert _words("X \u2014 cela augmente un peu l'estimation.", "fr") == (1, 1)
    with pytest.raises(AssertionError):
        _words("X \u2014 this raises the risk.", "en")
    assert _bar(bar_word(-0.7, lang), lang) == (-1, 3)
