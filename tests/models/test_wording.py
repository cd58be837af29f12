"""Words, not certainties: a probability is never worded as 0 % or 100 %, and its rank
among reference scores reads right in English and French."""

import re

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
    assert describe(0.97, reference) == "very high, higher than 9 in 10 customers"
    assert describe(0.97, []) == "very high"


def test_reference_quantiles():
    q = reference_quantiles([0.1, 0.2, 0.3, float("nan")], points=3)
    assert q == [0.1, 0.2, 0.3]
    assert reference_quantiles([]) == []
