"""Reviewed cases at promotion (issue 18): how the challenger scores every customer whose
dispute a reviewer decided (rectified or overturned), beside the champion, flagging where
the challenger repeats a judged mistake.

The cases come from the service's export (`python -m serving.cli export-reviewed`, run by
`make promote`): training reads that file, never the service database. A case "repeats the
judged mistake" when

- *overturned* (the reviewer judged the model's view of this customer wrong, on this
  data): the challenger puts the customer in the band the reviewer withdrew;
- *rectified* (the data was wrong, and correcting it changed the band): the challenger,
  scoring the corrected data, still gives the band the wrong data had.

Informational, not a gate: the report is printed and logged to the challenger's run
(`promotion/reviewed_cases.csv`, metrics `reviewed_cases` and `reviewed_repeats`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.churn_model import ChurnModel


@dataclass
class ReviewedReport:
    cases: int
    scored: int
    repeats: int
    not_scorable: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)

    def text(self) -> str:
        if not self.cases:
            return "reviewed cases: none (no dispute decided rectified or overturned)"
        head = (f"reviewed cases: {self.cases} decided dispute(s); the challenger repeats "
                f"a judged mistake in {self.repeats}")
        if self.not_scorable:
            return head + f" (not scored: {self.not_scorable})"
        lines = [head, f"  {'decision':<10} {'customer':<14} {'contested':>17} "
                       f"{'after review':>17} {'challenger':>17}  repeats"]
        for r in self.rows:
            after = "" if r["score_after"] is None else \
                f"{r['score_after']:.3f} {r['band_after']}"
            lines.append(f"  {r['decision']:<10} {r['customer_ref'][:12]:<14} "
                         f"{r['score_before']:.3f} {r['band_before']:<6}"
                         f"{after:>17} {r['challenger_score']:.3f} "
                         f"{r['challenger_band']:<6}  {'YES' if r['repeats'] else 'no'}")
        return "\n".join(lines)


def band(score: float, model: ChurnModel) -> str:
    d = model.spec.decision
    return "high" if score >= d.high_threshold else "medium" \
        if score >= d.medium_threshold else "low"


def report(path: str | Path, challenger: ChurnModel,
           champion: ChurnModel | None = None) -> ReviewedReport:
    """Score the reviewed cases in `path` with the challenger (and the champion)."""
    frame = pd.read_parquet(path)
    out = ReviewedReport(cases=len(frame), scored=0, repeats=0)
    if frame.empty:
        return out
    records = [json.loads(v) for v in frame["features_json"]]
    names = challenger.spec.feature_names
    missing = sorted({n for r in records for n in names if n not in r})
    if missing:
        out.not_scorable = (f"the challenger needs {missing}, which the reviewed cases do not "
                            "hold (another contract)")
        return out
    rows = pd.DataFrame([{n: r[n] for n in names} for r in records])
    new = np.asarray(challenger.explain_frame(rows).score, dtype=float)
    old = None
    if champion is not None and all(n in rows.columns or all(n in r for r in records)
                                    for n in champion.spec.feature_names):
        old_rows = pd.DataFrame([{n: r.get(n) for n in champion.spec.feature_names}
                                 for r in records])
        old = np.asarray(champion.explain_frame(old_rows).score, dtype=float)
    for i, case in enumerate(frame.to_dict(orient="records")):
        b = band(float(new[i]), challenger)
        after = case.get("band_after")
        after = None if after is None or (isinstance(after, float) and np.isnan(after)) \
            else str(after)
        if case["decision"] == "overturned":
            repeats = b == case["band_before"]
        else:  # rectified: a repeat only where correcting the data changed the band
            repeats = after is not None and after != case["band_before"] \
                and b == case["band_before"]
        score_after = case.get("score_after")
        out.rows.append({
            "dispute_id": case["dispute_id"], "customer_ref": case["customer_ref"],
            "decision": case["decision"], "score_before": float(case["score_before"]),
            "band_before": case["band_before"],
            "score_after": None if score_after is None or np.isnan(score_after)
            else float(score_after), "band_after": after,
            "champion_score": None if old is None else float(old[i]),
            "challenger_score": float(new[i]), "challenger_band": b, "repeats": bool(repeats)})
    out.scored = len(out.rows)
    out.repeats = sum(r["repeats"] for r in out.rows)
    return out


def log_to_run(client: Any, run_id: str, rep: ReviewedReport) -> None:
    """The report into the challenger's MLflow run: a CSV and two metrics."""
    client.log_metric(run_id, "reviewed_cases", rep.cases)
    client.log_metric(run_id, "reviewed_repeats", rep.repeats)
    client.log_text(run_id, pd.DataFrame(rep.rows).to_csv(index=False) if rep.rows
                    else rep.text() + "\n", "promotion/reviewed_cases.csv")
