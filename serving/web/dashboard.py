"""The monitoring dashboard page (issue 17): admins and reviewers.

Agents do not see it: it shows the control group's results, and agents must not be able
to tell who is held out (only aggregates are shown, but the page is for the people who
answer for the model). The figures come from `serving.loop.dashboard`; the charts are
inline SVG drawn here (`serving.web.charts`), so the page works without JavaScript.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from fastapi.responses import Response

from serving.deps import SessionDep, SettingsDep, SpecsDep
from serving.loop import dashboard as service
from serving.loop.drift import SCORE
from serving.web import charts
from serving.web.core import DashboardPage, PageRoute, page_lang, render
from serving.web.i18n import CATALOG, translator

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _num(v: float, digits: int = 3) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def _outcome(t, key: str) -> str:  # noqa: ANN001
    """An outcome's words; an outcome added later without words shows as recorded."""
    return t(f"outcome_{key}") if f"outcome_{key}" in CATALOG else key


def _figures(board: service.Dashboard, t, settings) -> dict:  # noqa: ANN001
    """The charts and rows of the page, in the page's language."""
    out: dict = {}
    months = [r.month for r in board.risk]
    if board.risk:
        out["risk_chart"] = charts.stacked_bars(
            months, {t(f"band_{b}"): [r.shares[b] for r in board.risk] for b in service.BANDS},
            title=t("dash_risk"), desc=t("dash_risk_desc") + " " + "; ".join(
                f"{r.month}: " + ", ".join(f"{t('band_' + b)} {r.shares[b]:.0%}"
                                          for b in service.BANDS) for r in board.risk),
            chart_id="risk")
    if board.tasks:
        kinds = sorted({k for m in board.tasks for k in m.outcomes})
        out["tasks_chart"] = charts.stacked_bars(
            [m.month for m in board.tasks],
            {_outcome(t, k): [m.outcomes.get(k, 0) for m in board.tasks] for k in kinds},
            title=t("dash_tasks"), percent=False, chart_id="tasks",
            desc=t("dash_tasks_desc") + " " + "; ".join(
                f"{m.month}: {m.opened}" for m in board.tasks))
    rows = [(r, t("dash_all") if r.segment == "all" else r.segment)
            for r in board.effect + board.effect_by_period]
    if rows:
        out["effect_chart"] = charts.intervals(
            [(t("dash_effect_row", segment=name, contact=r.n_contact, control=r.n_control),
              r.difference, r.lower, r.upper) for r, name in rows],
            title=t("dash_effect"), chart_id="effect", reference=0.0,
            desc=t("dash_effect_desc", share=f"{board.control_fraction:.0%}") + " " + "; ".join(
                f"{name}: {_num(r.difference)} [{_num(r.lower)}, {_num(r.upper)}]"
                for r, name in rows))
    if board.quality:
        out["quality_chart"] = charts.intervals(
            [(f"v{q.model_version} {q.month}", q.auc, q.auc_low, q.auc_high)
             for q in board.quality],
            title=t("dash_quality"), chart_id="quality", reference=0.5,
            marks=[settings.monitor_min_auc], desc=t("dash_quality_note") + " " + "; ".join(
                f"v{q.model_version} {q.month}: {_num(q.auc)} [{_num(q.auc_low)}, "
                f"{_num(q.auc_high)}]" for q in board.quality))
    if board.drift:
        names = [c.column for c in board.drift[-1].columns]
        runs = [d.run for d in board.drift]
        series = {}
        for name in names:
            label = t("dash_score") if name == SCORE else name
            series[label] = [next((c.psi for c in d.columns if c.column == name), math.nan)
                             for d in board.drift]
        out["drift_chart"] = charts.lines(
            runs, series, title=t("dash_drift"), chart_id="drift",
            marks={t("dash_status_warn"): settings.drift_psi_warn,
                   t("dash_status_alert"): settings.drift_psi_alert},
            desc=t("dash_drift_desc", warn=settings.drift_psi_warn,
                   alert=settings.drift_psi_alert))
        out["drift_names"] = names
    if board.fairness:
        fair_rows = []
        for f in board.fairness:
            for g in f.groups:
                fair_rows.append((f"{f.month} {f.attribute}={g.group}", *g.tpr))
        out["fairness_chart"] = charts.intervals(
            fair_rows, title=t("dash_fairness"), chart_id="fairness", reference=None,
            lo=0.0, hi=1.0, desc=t("dash_fairness_desc", source=board.fairness_source or ""))
    return out


@router.get("/staff/dashboard")
def dashboard_page(request: Request, principal: DashboardPage, session: SessionDep,
                   specs: SpecsDep, settings: SettingsDep) -> Response:
    """The monitoring dashboard, rendered on the server."""
    lang = page_lang(request)
    t = translator(lang)
    # the rule applied, not only asked for: uplift needs a loaded uplift model
    board = service.build(session, specs, settings,
                          uplift_in_force=getattr(request.app.state, "uplift", None) is not None)
    return render(request, "staff/dashboard.html", lang=lang, principal=principal,
                  board=board, num=_num, figures=_figures(board, t, settings),
                  settings=settings, score_name=SCORE)
