"""Contest analytics (issue 18): scrutiny by reviewers, admins and third-party auditors.

How often predictions are contested, on which factors, for which segments and sensitive
groups, how disputes end, how long they take, whether they are decided within their
one-month deadline, how often a rectification changed what happens to the customer, and
(blind-first review) how often reviewers agree with the model before and after seeing it.

Never an individual: only counts and rates. A count from 1 to k-1 (CHURN_ANALYTICS_MIN_CELL,
default 5) is suppressed (shown "< k"); when one cell of a table is suppressed, the next
smallest is too, so the total cannot give it back; a rate or a median over fewer than k
cases is suppressed, and so is a rate whose numerator or complement is below k. The
same figures feed the page, the CSV export and the compliance report.

Sensitive groups are not held by the service (they are never features): they come from
the customer file's audit attributes (the dataset schema's `sensitive:` columns), joined by
the keyed pseudonym (`attributes_from_file`) — the CLI `contest-analytics --attributes`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from serving.analytics import periods
from serving.analytics.schemas import AnalyticsPublic, CellPublic, RatePublic, TablePublic
from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.specs import SpecCache
from serving.storage import analytics as store
from serving.storage.analytics import DisputeFacts

OUTCOMES = ("upheld", "rectified", "overturned", "open")
BANDS = ("high", "medium", "low")


# -- suppression ----------------------------------------------------------------------------
def suppress(counts: Mapping[str, int], k: int) -> dict[str, int | None]:
    """Counts 1..k-1 become None; a lone suppressed cell takes the next smallest with it."""
    out: dict[str, int | None] = {g: (None if 0 < n < k else n) for g, n in counts.items()}
    hidden = [g for g, v in out.items() if v is None]
    if len(hidden) == 1:
        shown = sorted((n, g) for g, n in counts.items() if out[g] is not None and n > 0)
        if shown:
            out[shown[0][1]] = None
    return out


def rate(key: str, num: int, den: int, k: int) -> RatePublic:
    """A rate shown only over at least k cases, with a numerator and a complement
    (den - num) each 0 or at least k: "5 of 6" would give the one other case back."""
    if den < k or 0 < num < k or 0 < den - num < k:
        return RatePublic(key=key, numerator=None if 0 < num < k or 0 < den - num < k else num,
                          denominator=den if den >= k else None, rate=None)
    return RatePublic(key=key, numerator=num, denominator=den, rate=num / den if den else None)


def _table(key: str, title: str, counts: Mapping[str, int], labels: Mapping[str, str],
           k: int, order: Iterable[str] | None = None) -> TablePublic:
    shown = suppress(counts, k)
    total = sum(counts.values())
    groups = list(order) if order is not None else sorted(counts, key=lambda g: -counts[g])
    # a fixed order lists every group, zeros included ("unknown" only when it occurs)
    keep = [g for g in groups if g in counts or (order is not None and g != "unknown")]
    cells = [CellPublic(group=g, label=labels.get(g, g), count=shown.get(g, 0),
                        share=(shown.get(g, 0) / total)
                        if shown.get(g, 0) is not None and total else None)
             for g in keep]
    return TablePublic(key=key, title=title, cells=cells, total=total)


# -- the figures ----------------------------------------------------------------------------
def _days(f: DisputeFacts) -> float | None:
    if f.decided_at is None:
        return None
    return (f.decided_at - f.received_at).total_seconds() / 86400


def dispute_at(f: DisputeFacts, t: datetime) -> DisputeFacts:
    """The dispute as it stood at `t`: decided later, it was still open then."""
    if f.decided_at is None or f.decided_at < t:
        return f
    return dataclasses.replace(f, status="open", decided_at=None, decision=None,
                               route_after=None)


def compute(session: Session, specs: SpecCache, k: int, *, since: datetime | None = None,
            until: datetime | None = None, lang: str = "en",
            attributes: Mapping[str, Mapping[str, str]] | None = None,
            group_sizes: Mapping[str, Counter] | None = None,
            now: datetime | None = None, as_of: datetime | None = None) -> AnalyticsPublic:
    """The analytics of the disputes received in [since, until), small cells suppressed.
    `attributes`: audit attributes per customer pseudonym ({attribute: group}), and
    `group_sizes` the customers of each group (the contest rate's base). `as_of`: the
    figures as they stood then (the period's end: what an outside reader gets). The period
    obeys every reader's rules (`periods.resolve`: UTC, in order), whoever calls."""
    since, until = periods.resolve(since, until, None)
    now = now or datetime.now(UTC)
    facts = store.dispute_facts(session, since, until)
    if as_of is not None:
        now = min(now, as_of)
        facts = [dispute_at(f, as_of) for f in facts]
    decided = [f for f in facts if f.status == "decided"]
    open_ = [f for f in facts if f.status == "open"]
    out = AnalyticsPublic(
        k=k, since=since, until=until, as_of=as_of,
        disputes=len(facts), decided=len(decided),
        open=len(open_), overdue_open=None, scored_customers=store.scored_customers(
            session, since, until), median_days=None, p90_days=None, tables=[], rates=[],
        groups_available=False)
    overdue = sum(1 for f in open_ if f.due_by < now)
    out.overdue_open = None if 0 < overdue < k else overdue
    days = sorted(d for d in (_days(f) for f in decided) if d is not None)
    if len(days) >= k:
        out.median_days = statistics.median(days)
        out.p90_days = days[min(len(days) - 1, int(round(0.9 * (len(days) - 1))))]

    labels = _feature_labels(session, specs, facts, lang)
    out.tables.append(_table("by_feature", "by_feature",
                             Counter(c for f in facts for c in f.contested),
                             labels, k))
    out.tables.append(_table("by_outcome", "by_outcome",
                             Counter(f.decision or "open" for f in facts), {}, k, OUTCOMES))
    out.tables.append(_table("by_band", "by_band",
                             Counter(f.band or "unknown" for f in facts), {}, k,
                             (*BANDS, "unknown")))
    for feature, values in _segments(session, specs, facts, lang).items():
        out.tables.append(_table(f"segment:{feature}", labels.get(feature, feature),
                                 Counter(values), {}, k))
    if attributes:
        out.groups_available = True
        for attr in sorted({a for v in attributes.values() for a in v}):
            counts: Counter = Counter()
            mistaken: Counter = Counter()
            done: Counter = Counter()
            for f in facts:
                g = attributes.get(f.customer_ref, {}).get(attr, "not known")
                counts[g] += 1
                if f.decision:
                    done[g] += 1
                    mistaken[g] += f.decision in ("rectified", "overturned")
            t = _table(f"group:{attr}", attr, counts, {}, k)
            sizes = (group_sizes or {}).get(attr, Counter())
            for c in t.cells:
                m = rate("", mistaken[c.group], done[c.group], k)
                c.mistaken_rate = m.rate
                if c.count is not None and sizes.get(c.group, 0) >= k:
                    c.per_thousand = 1000 * c.count / sizes[c.group]
            out.tables.append(t)

    within = sum(1 for f in decided if f.decided_at is not None and f.decided_at <= f.due_by)
    out.rates.append(rate("decided_within_deadline", within, len(decided), k))
    rectified = [f for f in decided if f.decision == "rectified"]
    changed = sum(1 for f in rectified if f.route_after is not None
                  and f.route_after != f.route_before)
    out.rates.append(rate("rectification_changed_route", changed, len(rectified), k))
    out.rates.append(rate("contested_customers", len({f.customer_ref for f in facts}),
                          out.scored_customers, k))
    mistaken_all = sum(1 for f in decided if f.decision in ("rectified", "overturned"))
    out.rates.append(rate("judged_mistaken", mistaken_all, len(decided), k))
    out.rates.extend(_blind_rates(decided, k))
    return out


def period_for(reader: Principal, since: datetime | None, until: datetime | None,
               quarter: str | None, now: datetime | None = None,
               ) -> tuple[datetime | None, datetime | None, datetime | None]:
    """(since, until, as_of) for this reader, in UTC: staff read any period, live (as_of
    None); an outside auditor one ended calendar quarter as it stood at its end (as_of: that
    end; serving/analytics/periods.py says why). InvalidInput naming the field for a period
    no reader may ask for (a bound outside the calendar once in UTC, until not after since,
    a quarter with since or until) or this reader may not."""
    since, until = periods.resolve(since, until, quarter)
    if not reader.outside:
        return since, until, None
    q = periods.for_outside_reader(since, until, now or datetime.now(UTC))
    return q.since, q.until, q.until


def quarters_on_offer(session: Session, now: datetime) -> list[periods.Quarter]:
    """The ended quarters since the first dispute held, newest first (a picker's choices)."""
    return periods.ended_since(store.first_received(session), now)


def read(session: Session, specs: SpecCache, settings: Any, reader: Principal, *,
         via: str, export: bool = False, since: datetime | None = None,
         until: datetime | None = None, quarter: str | None = None,
         lang: str = "en", now: datetime | None = None) -> AnalyticsPublic:
    """The analytics as a reader gets them (the API, the page, the CSV): the configured
    audit attributes and k, the reader's period (`period_for`), and an outside auditor's
    read audited (`export`: the CSV)."""
    since, until, as_of = period_for(reader, since, until, quarter, now)
    attrs, sizes = attributes_from_settings(settings)
    a = compute(session, specs, settings.analytics_min_cell, since=since, until=until,
                lang=lang, attributes=attrs, group_sizes=sizes, now=now, as_of=as_of)
    audit.third_party_read(session, reader, "contest_analytics_csv" if export
                           else "contest_analytics", via,
                           since=since.isoformat() if since else None,
                           until=until.isoformat() if until else None)
    return a


def _blind_rates(decided: list[DisputeFacts], k: int) -> list[RatePublic]:
    """Blind-first review: agreement between the reviewer's first judgement, the model's
    band and the final decision (the final decision "agrees with the model" when it upheld
    the prediction; the first judgement "agrees with the final decision" when a reviewer
    who believed the customer's claim rectified or overturned, or one who did not, upheld)."""
    judged = [f for f in decided if f.expected_risk is not None and f.band is not None]
    first_model = sum(1 for f in judged if f.expected_risk == f.band)
    sure = [f for f in judged if f.claim_view in ("agree", "disagree")]
    first_final = sum(1 for f in sure if (f.claim_view == "agree")
                      == (f.decision in ("rectified", "overturned")))
    model_final = sum(1 for f in judged if f.decision == "upheld")
    differed = [f for f in judged if f.expected_risk != f.band]
    yielded = sum(1 for f in differed if f.decision == "upheld")
    return [rate("blind_first_vs_model", first_model, len(judged), k),
            rate("blind_first_vs_final", first_final, len(sure), k),
            rate("blind_model_vs_final", model_final, len(judged), k),
            # of the cases where the reviewer's own view differed from the model's, how
            # often the final decision still upheld the model (automation bias)
            rate("blind_upheld_after_differing", yielded, len(differed), k)]


def _spec_for(session: Session, specs: SpecCache, facts: list[DisputeFacts]) -> Any:
    models = [f.model for f in facts if f.model]
    if not models:
        return None
    name, version = Counter(models).most_common(1)[0][0]
    try:
        return specs.get(session, name, version)
    except Exception:  # noqa: BLE001 - a model no longer described: raw names then
        return None


def _feature_labels(session: Session, specs: SpecCache, facts: list[DisputeFacts],
                    lang: str) -> dict[str, str]:
    spec = _spec_for(session, specs, facts)
    if spec is None:
        return {}
    return {n: spec.feature(n).display_label(lang) for n in spec.feature_names}


def _segments(session: Session, specs: SpecCache, facts: list[DisputeFacts],
              lang: str) -> dict[str, list[str]]:
    """The categorical features of the contested predictions: a segment per value."""
    spec = _spec_for(session, specs, facts)
    if spec is None:
        return {}
    out: dict[str, list[str]] = {}
    for name in spec.feature_names:
        feature = spec.feature(name)
        if feature.kind == "numeric":
            continue
        out[name] = [feature.display_value(f.values.get(name), lang) for f in facts]
    return out


# -- audit attributes -----------------------------------------------------------------------
def attributes_from_file(path: str | Path, schema_path: str | Path,
                         pseudonym_key: str) -> tuple[dict[str, dict[str, str]],
                                                      dict[str, Counter]]:
    """The sensitive columns of a customer file, per keyed pseudonym (never the raw id),
    and the size of each group. Numbers are cut in quartile bands."""
    import pandas as pd

    from models.dataset_schema import DatasetSchema
    from models.pseudonym import Pseudonymiser

    schema = DatasetSchema.load(schema_path)
    if not schema.id_column or not schema.sensitive:
        raise ValueError(f"{schema_path}: the schema needs an id_column and sensitive "
                         "columns to give audit attributes")
    p = Path(path)
    # the id as text, as every path reads it: "00123" is not customer 123
    frame = (pd.read_parquet(p) if p.suffix == ".parquet"
             else pd.read_csv(p, dtype={schema.id_column: str}))
    missing = [c for c in (schema.id_column, *schema.sensitive) if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing} named by {schema_path}")
    pseudo = Pseudonymiser(pseudonym_key)
    refs = [pseudo(str(i)) for i in frame[schema.id_column]]
    return _groups(frame, list(schema.sensitive), refs)


def _groups(frame: Any, columns: list[str], refs: list[str]) -> tuple[
        dict[str, dict[str, str]], dict[str, Counter]]:
    """Attributes per pseudonym as text groups (numbers with more than 10 values in
    quartile bands), and each group's size."""
    import pandas as pd

    groups: dict[str, Any] = {}
    for col in columns:
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s) and s.nunique() > 10:
            groups[col] = pd.qcut(s, 4, duplicates="drop").astype(str)
        else:
            groups[col] = s.astype(str)
    attrs = {ref: {col: str(groups[col].iloc[i]) for col in columns}
             for i, ref in enumerate(refs)}
    return attrs, {col: Counter(groups[col].tolist()) for col in columns}


def attributes_from_settings(settings: Any) -> tuple[dict[str, dict[str, str]] | None,
                                                     dict[str, Counter] | None]:
    """The audit attributes the DPO points the service at (CHURN_AUDIT_ATTRIBUTES, the
    file the monitoring dashboard reads: customer ids and sensitive columns, pseudonymised
    when read, never stored), or (None, None)."""
    from serving.loop.dashboard import load_attributes

    frame = load_attributes(settings)
    if frame is None or frame.empty:
        return None, None
    columns = [c for c in frame.columns if c != "customer_ref"]
    return _groups(frame, columns, [str(r) for r in frame["customer_ref"]])


# -- export ---------------------------------------------------------------------------------
def to_rows(a: AnalyticsPublic) -> list[dict[str, Any]]:
    """Every figure as a flat row (the CSV export); suppressed values read "< k"."""
    hidden = f"< {a.k}"

    def shown(v: Any) -> Any:
        if v is None:
            return hidden
        return round(v, 4) if isinstance(v, float) else v

    rows: list[dict[str, Any]] = []

    def row(table: str, group: str, count: Any, out_of: Any = "", share: Any = "",
            rate_: Any = "") -> None:
        rows.append({"table": table, "group": group, "count": count, "out_of": out_of,
                     "share": share, "rate": rate_})

    for key, value in (("disputes", a.disputes), ("decided", a.decided), ("open", a.open),
                       ("overdue_open", a.overdue_open),
                       ("median_days_to_decision", a.median_days),
                       ("p90_days_to_decision", a.p90_days)):
        row("totals", key, shown(value))
    for t in a.tables:
        for c in t.cells:
            row(t.key, c.label, shown(c.count), t.total,
                shown(c.share) if c.count is not None else hidden,
                "" if c.mistaken_rate is None else shown(c.mistaken_rate))
    for r in a.rates:
        row("rates", r.key, shown(r.numerator), shown(r.denominator), "", shown(r.rate))
    return rows


def to_csv(a: AnalyticsPublic) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["table", "group", "count", "out_of", "share", "rate"],
                       lineterminator="\n")
    w.writeheader()
    w.writerows(to_rows(a))
    return buf.getvalue()
