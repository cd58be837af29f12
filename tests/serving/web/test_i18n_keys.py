"""No page can show a raw catalogue key: every key the templates and the web views ask for
exists in English and French, keys built from a prefix exist for every value their domain
can take, and the catalogue itself is whole (both languages, the same placeholders).

A customer who sent a second request while the first was being reviewed once read
`err_other_title`: the key reached the page because the translator returned an unknown key
as its own text. It now raises `MissingText`, and this test finds the keys statically."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest
from jinja2 import Environment, nodes

from serving.auth.principal import STAFF_ROLES
from serving.config import Settings
from serving.recourse.schemas import RecourseStatus
from serving.retention.schemas import CHANNELS, OUTCOMES, SORTS
from serving.storage.tables import CLAIM_VIEWS, EXPECTED_RISKS
from serving.web import core, views
from serving.web.i18n import CATALOG, LANGS, MissingText, check_catalog, translator

WEB = Path(__file__).resolve().parents[3] / "serving" / "web"
TEMPLATES = WEB / "templates"

# the values each key prefix is completed with (`t('band_' ~ x)`, `t("role_" + r)`)
DYNAMIC: dict[str, tuple[str, ...]] = {
    "band_": ("high", "medium", "low"),
    # issue 16: the recourse panels word each status (agent, customer)
    "rc_status_": get_args(RecourseStatus),
    "me_rc_status_": get_args(RecourseStatus),
    "me_pred_": ("high", "medium", "low"),
    "task_": ("open", "claimed", "done", "cancelled"),
    "outcome_": OUTCOMES,
    "role_": STAFF_ROLES,
    "dec_": ("upheld", "rectified", "overturned"),
    "s_dec_": ("upheld", "rectified", "overturned"),  # the reviewer's decision choices
    "decision_": ("upheld", "rectified", "overturned"),
    "st_": ("open", "decided"),
    "lang_name_": LANGS,
    "rule_": get_args(Settings.model_fields["targeting"].annotation),
    "ch_": CHANNELS,
    "sort_": SORTS,
    "qrule_": tuple(s for s in SORTS if s != "score"),  # the score order has its own words
    "blind_risk_": EXPECTED_RISKS,
    "blind_claim_": CLAIM_VIEWS,
    "voice_": ("upheld", "rectified", "overturned"),
    "voice_mark_": ("rectified", "overturned"),  # the mark shown before calling
    "dash_alert_": ("drift", "quality", "fairness"),
    "dash_status_": ("ok", "warn", "alert", "unknown"),
    "arm_": ("contact", "control"),  # issue 17: the arm, on admins' and reviewers' pages
    # issue 18: rights requests and the customer's copy
    "kind_": ("access", "erasure", "rectification", "restriction", "objection"),
    "rstatus_": ("open", "extended", "done", "refused", "cancelled"),
    "copy_band_": ("low", "medium", "high"),
    "copy_source_": ("api", "batch", "review"),
    "copy_route_": ("human_contact", "none"),
    "copy_decision_": ("upheld", "rectified", "overturned"),
    "copy_by_": ("you", "staff", "system"),
    "staff_rights_f_": ("open", "overdue", "closed", "all"),
    "staff_rights_via_": ("customer", "assisted"),
    # issue 18: contest analytics (serving/analytics/service.py's tables, rates and groups)
    "an_": ("by_feature", "by_outcome", "by_band"),
    "an_rate_": ("decided_within_deadline", "rectification_changed_route",
                 "contested_customers", "judged_mistaken", "blind_first_vs_model",
                 "blind_first_vs_final", "blind_model_vs_final",
                 "blind_upheld_after_differing"),
    "an_g_": ("open", "upheld", "rectified", "overturned", "high", "medium", "low", "unknown"),
}


def _task_statuses() -> tuple[str, ...]:
    from serving.retention.schemas import RetentionTaskPublic

    return get_args(RetentionTaskPublic.model_fields["status"].annotation)


def _template_keys() -> tuple[set[str], set[str], list[str]]:
    """(literal keys, prefixes, where each prefix was seen) of every `t(...)` call in the
    templates; a key built any other way is reported, to be added here."""
    env = Environment(extensions=["jinja2.ext.do"])
    keys: set[str] = set()
    prefixes: set[str] = set()
    unknown: list[str] = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        for call in tree.find_all(nodes.Call):
            if not (isinstance(call.node, nodes.Name) and call.node.name == "t" and call.args):
                continue
            for arg in _branches(call.args[0]):
                if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                    keys.add(arg.value)
                elif isinstance(arg, nodes.Concat) and isinstance(arg.nodes[0], nodes.Const):
                    prefixes.add(arg.nodes[0].value)
                elif isinstance(arg, nodes.Add) and isinstance(arg.left, nodes.Const):
                    prefixes.add(arg.left.value)
                else:
                    unknown.append(f"{path.relative_to(TEMPLATES)}: t({arg})")
    return keys, prefixes, unknown


def _branches(arg: nodes.Expr) -> list[nodes.Expr]:
    """Both keys of `t('a' if x else 'b')`."""
    if isinstance(arg, nodes.CondExpr):
        return _branches(arg.expr1) + _branches(arg.expr2)
    return [arg]


def _python_keys() -> tuple[set[str], set[str], list[str]]:
    """The same for the web views: `t("key")`, `t("prefix_" + x)`, `translator(..)("key")`."""
    keys: set[str] = set()
    prefixes: set[str] = set()
    unknown: list[str] = []
    for path in sorted(WEB.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or not call.args:
                continue
            f = call.func
            is_t = (isinstance(f, ast.Name) and f.id == "t") or (
                isinstance(f, ast.Call) and isinstance(f.func, ast.Name)
                and f.func.id == "translator")
            if not is_t:
                continue
            arg = call.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                keys.add(arg.value)
            elif isinstance(arg, ast.BinOp) and isinstance(arg.left, ast.Constant):
                prefixes.add(arg.left.value)
            elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                prefixes.add(arg.values[0].value)  # t(f"band_{b}")
            elif not isinstance(arg, ast.Name):  # a variable: its keys are checked below
                unknown.append(f"{path.name}:{call.lineno}: {ast.unparse(call)}")
    return keys, prefixes, unknown


def test_the_catalogue_is_whole():
    assert check_catalog(CATALOG) == []
    broken = {"x": {"en": "{n} things"}, "y": {"en": "{n} a", "fr": "{m} b"},
              "z_one": {"en": "a", "fr": "b"}}
    problems = check_catalog(broken)
    assert len(problems) == 3, problems


def test_an_unknown_key_raises_instead_of_showing_itself():
    t = translator("fr")
    with pytest.raises(MissingText, match="err_nothing_like_this"):
        t("err_nothing_like_this")
    assert t("other_factors", count=1) == "1 autre élément"
    assert t("other_factors", count=0) == "0 autre élément"  # French: below 2 is singular
    assert translator("en")("other_factors", count=0) == "0 other facts"
    assert translator("en")("other_factors", count=1) == "1 other fact"


def test_every_key_the_pages_use_exists_in_both_languages():
    t_keys, t_prefixes, t_unknown = _template_keys()
    p_keys, p_prefixes, p_unknown = _python_keys()
    assert not t_unknown and not p_unknown, (t_unknown, p_unknown)
    # keys held in tables of the web layer and passed to t() by name
    table_keys = {k for pair in [*core._DOMAIN_PAGES.values(), core._OTHER_PAGE]
                  for k in pair if k}
    table_keys |= {k for k, _ in views._MESSAGES.values()}
    table_keys |= {"object_done", "withdrawn_done"}  # me._back_to_me(request, <key>)
    prefixes = t_prefixes | p_prefixes
    assert prefixes <= set(DYNAMIC), (
        f"keys built from {sorted(prefixes - set(DYNAMIC))}: list their values in DYNAMIC")
    assert set(DYNAMIC["task_"]) == set(_task_statuses())
    wanted = t_keys | p_keys | table_keys
    wanted |= {p + v for p in prefixes for v in DYNAMIC[p]}
    missing = {lang: sorted(k for k in wanted if lang not in CATALOG.get(k, {}))
               for lang in LANGS}
    assert missing == {"en": [], "fr": []}
    assert len(wanted) > 150  # the scan found the pages' words (not an empty pass)
