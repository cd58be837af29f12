"""Recourse: the smallest changes of what can change that would lower a customer's risk.

An exact search, not a sampled one. Only the features the dataset schema marked
`actionable` (carried in the served spec, `FeatureSpec.actionable`) may change, each in its
permitted direction, between its allowed categories, within its bounds and the model's
input domain (`FeatureSpec.valid_range`), and against no monotone constraint of the model.
Everything else (tenure, history, sensitive attributes are never features at all) stays as
the customer's record has it.

Why it is exact: a tree ensemble is constant between the split thresholds it uses, so along
a number only one value per interval between consecutive thresholds can change the score.
The search takes, in each interval the permitted direction reaches, the value nearest to
the customer's (a whole number when the feature only takes whole numbers, else a cent), and
every allowed category; then every combination of up to `max_changes` features of those
candidates. All candidates are scored in one vectorised call through the same
`ChurnModel` the server scores with (calibrated probability), so no score a customer could
reach with that many changes is missed, and each option is the smallest change that
reaches its score.

Options are the candidates below the target (the high band's threshold), fewest changed
features first, then the smallest normalised change; when none is below, the ones that
lower the score most. Up to `max_options` are returned and they differ: no option changes
the same features as another, nor is another option plus more changes. Each option is
scored and explained again exactly (TreeSHAP, `ChurnModel.explain`): its score is the one
the server would give the changed record, and the contributions of the changed features
are shown before and after.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from models.churn_model import ChurnModel, calibrate
from models.explain import decoded_values
from models.reasons import reason_text
from models.spec import FeatureSpec, ModelSpec

# options: below the target; lowers_only: none reaches it, these lower the score most;
# none: nothing that may change lowers it; no_levers: the model marks no feature actionable
# (a schema without `actionable`, an older model); already_below: nothing to propose
Status = Literal["already_below", "options", "lowers_only", "none", "no_levers"]

# Scored candidates per customer at most: combinations of `max_changes` features are only
# searched while the total stays within it (the search reports how far it went).
DEFAULT_BUDGET = 50_000
# A score must fall by more than this to count as lowered (float noise is not a change).
MIN_DECREASE = 1e-9
# Non-whole numbers move in cents: the nearest such value past a threshold.
_CENT = 0.01


@dataclass(frozen=True)
class Lever:
    """One actionable feature of the model, as the search moves it."""

    index: int  # column in the model's input
    feature: FeatureSpec
    direction: Literal["increase", "decrease", "any"]  # after the monotone constraint
    thresholds: np.ndarray  # numbers: the model's split thresholds, sorted, unique


@dataclass(frozen=True)
class Change:
    """One feature changed: from and to, as stored and as a person reads them."""

    feature: str
    label: str
    before: Any
    after: Any
    before_shown: str
    after_shown: str
    text: str
    why: str | None = None  # why it can change (the schema's `why`), in the language asked


@dataclass(frozen=True)
class ContributionChange:
    """A changed feature's exact SHAP contribution (log-odds) before and after, worded."""

    feature: str
    label: str
    before: float
    after: float
    text_before: str
    text_after: str


@dataclass(frozen=True)
class Option:
    """One way to lower the score: the changes, the new calibrated score (exactly what the
    model gives the changed record) and the contributions that change."""

    changes: list[Change]
    score: float
    margin: float
    distance: float  # the normalised size of the change (each feature's share summed)
    contributions: list[ContributionChange]
    # how much the features left as they are moved the margin together (interactions)
    others_shift: float
    values: dict[str, Any]  # the whole changed record, in the model's features


@dataclass(frozen=True)
class Recourse:
    """The search's answer for one customer."""

    status: Status
    score: float  # the record's calibrated score now, by the same model
    margin: float
    target: float
    options: list[Option]
    levers: list[str]  # the actionable features this customer's record lets move
    candidates: int  # changed records scored
    max_changes: int  # combinations searched up to this many changed features
    complete: bool  # False: the budget cut the largest combinations


def change_text(f: FeatureSpec, before: Any, after: Any, lang: str = "en") -> str:
    """A change in words: "Contract type from month-to-month to one-year"."""
    a, b = f.display_value(before, lang), f.display_value(after, lang)
    if lang == "fr":
        return f"{f.display_label(lang)} : de {a} à {b}"
    return f"{f.display_label(lang)} from {a} to {b}"


def split_thresholds(model: ChurnModel) -> dict[int, np.ndarray]:
    """Each numeric feature's split thresholds in the model's trees (sorted, unique)."""
    booster, spec = model.booster, model.spec
    assert booster is not None and spec is not None, "load the model first"
    wanted = {j for j, f in enumerate(spec.features) if f.kind == "numeric"}
    found: dict[int, set[float]] = {j: set() for j in wanted}
    for tree in booster.dump_model()["tree_info"]:
        stack = [tree["tree_structure"]]
        while stack:
            node = stack.pop()
            if "split_feature" not in node:
                continue
            j = int(node["split_feature"])
            if j in wanted and node.get("decision_type") == "<=":
                found[j].add(float(node["threshold"]))
            stack.append(node["left_child"])
            stack.append(node["right_child"])
    return {j: np.array(sorted(v), dtype=np.float64) for j, v in found.items()}


def levers(model: ChurnModel) -> list[Lever]:
    """The model's actionable features, with the direction their monotone constraint
    leaves (a monotone feature only moves the way that can lower the risk)."""
    spec = model.spec
    assert spec is not None, "load the model first"
    thresholds = split_thresholds(model)
    out = []
    for j, f in enumerate(spec.features):
        act = f.actionable
        if act is None:
            continue
        direction = act.direction
        if f.kind != "categorical" and f.monotone and direction == "any":
            direction = "increase" if f.monotone < 0 else "decrease"
        out.append(Lever(index=j, feature=f, direction=direction,
                         thresholds=thresholds.get(j, np.empty(0))))
    return out


def _category_candidates(lever: Lever, code: float) -> tuple[list[float], list[float]]:
    """Codes the category may move to, and each one's normalised distance."""
    f, act = lever.feature, lever.feature.actionable
    assert act is not None
    current = f.categories[int(code)]
    allowed = act.allowed or list(f.categories)
    if current not in allowed:
        return [], []
    # the order a direction follows: an ordinal's own, else `allowed` as listed
    order = list(f.categories) if f.kind == "ordinal" else allowed
    ordered = f.kind == "ordinal" or lever.direction != "any"
    pos = order.index(current)
    span = max(1, len(order) - 1)
    codes, dist = [], []
    for cat in allowed:
        if cat == current:
            continue
        step = order.index(cat) - pos
        if (lever.direction == "increase" and step < 0) or (
                lever.direction == "decrease" and step > 0):
            continue
        codes.append(float(f.categories.index(cat)))
        dist.append(abs(step) / span if ordered else 1.0)
    return codes, dist


def _numeric_window(lever: Lever, value: float) -> tuple[float, float]:
    """The values a change may reach: the input domain, the lever's bounds and largest
    change, and its direction, all at once."""
    f, act = lever.feature, lever.feature.actionable
    assert act is not None
    lo, hi = f.valid_range()
    if act.bounds is not None:
        lo, hi = max(lo, act.bounds[0]), min(hi, act.bounds[1])
    if act.max_change is not None:
        lo, hi = max(lo, value - act.max_change), min(hi, value + act.max_change)
    if lever.direction == "increase":
        lo = max(lo, value)
    elif lever.direction == "decrease":
        hi = min(hi, value)
    return lo, hi


def _above(t: float, integer: bool) -> float:
    """The nearest plain value strictly above threshold `t` (goes right in a split)."""
    v = math.floor(t) + 1.0 if integer else round(math.floor(t / _CENT + 1e-9) * _CENT + _CENT, 2)
    return v if v > t else float(np.nextafter(t, math.inf))


def _at_or_below(t: float, integer: bool) -> float:
    """The nearest plain value at or below threshold `t` (goes left in a split)."""
    v = float(math.floor(t)) if integer else round(math.floor(t / _CENT + 1e-9) * _CENT, 2)
    return v if v <= t else t


def _numeric_candidates(lever: Lever, value: float) -> tuple[list[float], list[float]]:
    """One value per interval between the model's thresholds that the window reaches, the
    one nearest the customer's value; each with its normalised distance."""
    f = lever.feature
    lo, hi = _numeric_window(lever, value)
    if not lo <= hi:
        return [], []
    integer = f.integer
    found: set[float] = set()
    for t in lever.thresholds.tolist():
        if value <= t:  # the customer is left of t: crossing means going above it
            v = _above(t, integer)
        else:  # right of t: crossing means going to t or below
            v = _at_or_below(t, integer)
        if lo <= v <= hi and v != value and (not integer or float(v).is_integer()):
            found.add(v)
    span = (f.max - f.min) if f.min is not None and f.max is not None else 0.0
    if not span:
        dlo, dhi = f.valid_range()
        span = (dhi - dlo) or 1.0
    codes = sorted(found)
    return codes, [abs(v - value) / span for v in codes]


class Planner:
    """Recourse for one model: its levers and thresholds read once, then `search` per
    customer record."""

    def __init__(self, model: ChurnModel, max_changes: int = 3, max_options: int = 3,
                 budget: int = DEFAULT_BUDGET):
        self.model = model
        assert model.spec is not None and model.encoder is not None, "load the model first"
        self.spec: ModelSpec = model.spec
        self.encoder = model.encoder
        self.levers = levers(model)
        self.max_changes = max_changes
        self.max_options = max_options
        self.budget = budget
        # columns whose codes carry no order (a categorical's category index)
        self.unordered = np.array([f.kind == "categorical" for f in self.spec.features])

    # -- candidates ----------------------------------------------------------------------
    def candidates(self, x: np.ndarray) -> list[tuple[Lever, np.ndarray, np.ndarray]]:
        """For each lever the record lets move: the codes it may take and their distances."""
        out = []
        for lever in self.levers:
            code = float(x[lever.index])
            if math.isnan(code):  # a value not known: nothing to move it from
                continue
            if lever.feature.kind == "numeric":
                codes, dist = _numeric_candidates(lever, code)
            else:
                codes, dist = _category_candidates(lever, code)
            if codes:
                out.append((lever, np.asarray(codes, dtype=np.float64),
                            np.asarray(dist, dtype=np.float64)))
        return out

    def grid(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, bool,
                                           list[str]]:
        """Every changed record to score: rows, their changed-feature masks (bits over the
        levers) and distances; how many features were combined at most, whether every
        combination up to `max_changes` fitted the budget, and the movable levers."""
        cands = self.candidates(x)
        names = [c[0].feature.name for c in cands]
        sizes = [len(c[1]) for c in cands]
        combos: list[tuple[int, ...]] = []
        total, reached, complete = 0, 0, True
        for k in range(1, min(self.max_changes, len(cands)) + 1):
            these = list(itertools.combinations(range(len(cands)), k))
            size = sum(math.prod(sizes[i] for i in c) for c in these)
            if total + size > self.budget:
                complete = False
                break
            combos += these
            total += size
            reached = k
        X = np.repeat(x[None, :], total, axis=0)
        masks = np.empty(total, dtype=np.int64)
        dists = np.zeros(total)
        at = 0
        for combo in combos:
            n = math.prod(sizes[i] for i in combo)
            rows = slice(at, at + n)
            inner, outer = n, 1
            for i in combo:  # the cartesian product, first lever slowest
                lever, codes, dist = cands[i]
                inner //= sizes[i]
                shape = (outer, sizes[i], inner)
                X[rows, lever.index] = np.broadcast_to(codes[None, :, None], shape).ravel()
                dists[rows] += np.broadcast_to(dist[None, :, None], shape).ravel()
                outer *= sizes[i]
            masks[rows] = sum(1 << i for i in combo)
            at += n
        return X, masks, dists, reached, complete, names

    # -- the search ----------------------------------------------------------------------
    def search(self, values: dict[str, Any], target: float, lang: str = "en") -> Recourse:
        """Recourse for one record (its values by feature name, as a receipt stores them),
        to bring the calibrated score below `target`. Raises `InvalidFeatures` when the
        record does not fit the model."""
        model, spec = self.model, self.spec
        x = self.encoder.encode_records([values])[0]
        now = model.explain(x[None, :])
        score, margin = float(now.score[0]), float(now.margin[0])
        if score < target:
            return Recourse("already_below", score, margin, target, [],
                            [lv.feature.name for lv in self.levers], 0, 0, True)
        if not self.levers:
            return Recourse("no_levers", score, margin, target, [], [], 0, 0, True)
        X, masks, dists, reached, complete, movable = self.grid(x)
        if len(X) == 0:
            return Recourse("none", score, margin, target, [], movable, 0, reached, complete)
        scores = calibrate(model.raw_margin(X), spec.calibration)
        nchanged = _popcount(masks)
        below = scores < target
        if below.any():
            status: Status = "options"
            idx = np.flatnonzero(below)
            order = idx[np.lexsort((scores[idx], dists[idx], nchanged[idx]))]
        else:
            idx = np.flatnonzero(scores < score - MIN_DECREASE)
            if len(idx) == 0:
                return Recourse("none", score, margin, target, [], movable, len(X), reached,
                                complete)
            status = "lowers_only"
            order = idx[np.lexsort((dists[idx], nchanged[idx], scores[idx]))]
        options = self._pick(x, X, masks, dists, order, now, target if status == "options"
                             else score - MIN_DECREASE, lang)
        if not options:  # nothing survived the exact re-scoring (float edge cases)
            return Recourse("none", score, margin, target, [], movable, len(X), reached,
                            complete)
        return Recourse(status, score, margin, target, options, movable, len(X), reached,
                        complete)

    def _pick(self, x: np.ndarray, X: np.ndarray, masks: np.ndarray, dists: np.ndarray,
              order: np.ndarray, now: Any, below: float, lang: str) -> list[Option]:
        """Up to `max_options` diverse candidates in `order`, each re-scored exactly."""
        chosen: list[int] = []
        rejected: set[int] = set()
        while True:
            picked = _diverse(X, masks, order, self.max_options, chosen, rejected, x,
                              self.unordered)
            if not picked:
                break
            exact = self.model.explain(X[picked])
            fresh = []
            for r, i in enumerate(picked):
                if float(exact.score[r]) < below:
                    fresh.append((i, r))
                else:
                    rejected.add(i)
            kept = [i for i, _ in fresh]
            if len(kept) == len(picked):
                return [self._option(x, X[i], exact, r, now, float(dists[i]), lang)
                        for i, r in fresh]
            chosen = []  # pick again without the rejected rows
        return []

    def _option(self, x: np.ndarray, row: np.ndarray, exact: Any, r: int, now: Any,
                distance: float, lang: str) -> Option:
        spec = self.spec
        before_values = decoded_values(spec, x)
        after_values = decoded_values(spec, row)
        changes, contribs = [], []
        changed_shift = 0.0
        for j, f in enumerate(spec.features):
            if _same(x[j], row[j]):
                continue
            b, a = before_values[f.name], after_values[f.name]
            changes.append(Change(feature=f.name, label=f.display_label(lang), before=b,
                                  after=a, before_shown=f.display_value(b, lang),
                                  after_shown=f.display_value(a, lang),
                                  text=change_text(f, b, a, lang),
                                  why=f.actionable.why_text(lang) if f.actionable else None))
            sb, sa = float(now.shap[0, j]), float(exact.shap[r, j])
            changed_shift += sa - sb
            contribs.append(ContributionChange(
                feature=f.name, label=f.display_label(lang), before=sb, after=sa,
                text_before=reason_text(f, b, sb, lang), text_after=reason_text(f, a, sa, lang)))
        new_margin = float(exact.margin[r])
        return Option(changes=changes, score=float(exact.score[r]), margin=new_margin,
                      distance=distance, contributions=contribs,
                      others_shift=(new_margin - float(now.margin[0])) - changed_shift,
                      values=after_values)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _popcount(masks: np.ndarray) -> np.ndarray:
    m = masks.astype(np.uint64)
    count = np.zeros(len(m), dtype=np.int64)
    while m.any():
        count += (m & np.uint64(1)).astype(np.int64)
        m = m >> np.uint64(1)
    return count


def _diverse(X: np.ndarray, masks: np.ndarray, order: np.ndarray, limit: int,
             chosen: list[int], rejected: set[int], x: np.ndarray,
             unordered: np.ndarray) -> list[int]:
    """Up to `limit` rows of `order`, skipping `rejected`: first ones each bringing a
    feature no option so far changes, then any other. Never a variant of an option (the
    same features changed), nor an option with more change (its changes, as far or further
    the same way, plus others) or with less (some of its changes, no further):
    `unordered` marks the columns whose codes have no order.
    Vectorised over the candidates: one pass per option picked."""
    picked = list(chosen)
    redundant = np.zeros(len(X), dtype=bool)
    if rejected:
        redundant[list(rejected)] = True

    def rule_out(p: int) -> None:
        mp = int(masks[p])
        # the columns option p changes (a missing value, NaN, is never changed)
        cols = np.flatnonzero((X[p] != x) & ~(np.isnan(X[p]) & np.isnan(x)))
        d, dp = X[:, cols] - x[cols], X[p, cols] - x[cols]
        same = X[:, cols] == X[p, cols]
        ordered_same_way = ~unordered[cols] & (np.sign(d) == np.sign(dp))
        further = np.all(same | (ordered_same_way & (np.abs(d) >= np.abs(dp))), axis=1)
        # or less: the option's changes, some of them not as far, some left out
        less = np.all(same | (d == 0) | (ordered_same_way & (np.abs(d) <= np.abs(dp))), axis=1)
        redundant[:] |= ((masks == mp) | (((masks & mp) == mp) & further)
                         | (((masks & mp) == masks) & less))

    for p in picked:
        rule_out(p)
    ordered_masks = masks[order]
    for fresh_only in (True, False):
        while len(picked) < limit:
            used = 0
            for p in picked:
                used |= int(masks[p])
            ok = ~redundant[order]
            if fresh_only:
                ok &= (ordered_masks & ~np.int64(used)) != 0
            hits = np.flatnonzero(ok)
            if len(hits) == 0:
                break
            p = int(order[hits[0]])
            picked.append(p)
            rule_out(p)
    return picked
