"""The input domain is part of the model contract: every entry point refuses a value
outside it (422 naming the field, or a skipped and counted row in the batch), never
scores it, never answers 5xx."""

import json
from typing import Any

import pytest
import sqlalchemy as sa

from serving.batch import score_file
from serving.storage import Database
from serving.storage.tables import Prediction
from tests.serving.conftest import dispute_body, other_value

# (case, feature kind, raw JSON of the value); "{lo}" / "{hi}" stand for the bounds
BAD = [
    ("negative", "number", "-1000000"),
    ("above range", "number", "99999"),
    ("huge", "number", "1e300"),
    ("overflow", "number", "1e400"),
    ("minus overflow", "number", "-1e400"),
    ("big integer", "number", "1" + "0" * 400),
    ("NaN", "number", "NaN"),
    ("Infinity", "number", "Infinity"),
    ("NaN as text", "number", '"NaN"'),
    ("inf as text", "number", '"inf"'),
    ("unknown category", "choice", '"Martian"'),
    ("NUL", "choice", '"Month\\u0000"'),
    ("lone surrogate", "choice", '"\\ud800"'),
    ("surrogate in a number", "number", '"\\ud800"'),
]


def _feature(spec: Any, kind: str) -> Any:
    return next(f for f in spec.features if (f.kind == "numeric") == (kind == "number"))


def _post_raw(client: Any, url: str, body: dict, raw: str, headers: dict) -> Any:
    text = json.dumps(body).replace('"__RAW__"', raw)
    return client.post(url, content=text.encode("utf-8", "surrogatepass"),
                       headers=headers | {"Content-Type": "application/json"})


def _refused(r: Any) -> None:
    assert r.status_code == 422, (r.status_code, r.text[:500])
    body = r.json()
    assert body["error"] in ("invalid_features", "invalid_request", "invalid_text"), body
    assert len(r.content) < 20_000  # never the whole input echoed back


def _receipts(app: Any) -> int:
    with app.state.db.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Prediction))


@pytest.mark.parametrize(("case", "kind", "raw"), BAD, ids=[b[0] for b in BAD])
def test_online_scoring_refuses_values_outside_the_domain(api, app, host, customers,
                                                          case, kind, raw):
    f = _feature(host.current().spec, kind)
    c = customers[0]
    body = {"customer_id": c["customer_id"], "features": c["features"] | {f.name: "__RAW__"}}
    _refused(_post_raw(api.client, "/v1/predictions", body, raw, api.headers()))
    # in a list, too: nothing of the request is stored
    _refused(_post_raw(api.client, "/v1/predictions", [customers[1], body], raw,
                       api.headers()))
    assert _receipts(app) == 0


def test_the_refusal_names_the_field_the_value_and_the_range(api, host, customers):
    spec = host.current().spec
    f = _feature(spec, "number")
    lo, hi = f.valid_range()
    c = customers[0]
    r = api.client.post("/v1/predictions", headers=api.headers(), json={
        "customer_id": c["customer_id"], "features": c["features"] | {f.name: hi + 1}})
    _refused(r)
    (error,) = r.json()["errors"]
    assert error["field"] == f.name and error["problem"] == "out of range"
    assert f"{lo:g} to {hi:g}" in error["expected"] and repr(hi + 1) in error["got"]


def test_the_range_bounds_are_accepted(api, host, customers):
    f = _feature(host.current().spec, "number")
    lo, hi = f.valid_range()
    for value in (lo, hi):
        c = customers[2]
        r = api.client.post("/v1/predictions", headers=api.headers(), json={
            "customer_id": c["customer_id"], "features": c["features"] | {f.name: value}})
        assert r.status_code == 201, r.text


@pytest.mark.parametrize(("case", "kind", "raw"), BAD, ids=[b[0] for b in BAD])
def test_a_reviewer_cannot_correct_to_or_preview_a_value_outside_the_domain(
        contest, by_risk, host, case, kind, raw):
    p, me = contest.scored(by_risk[0])
    f = _feature(host.current().spec, kind)
    # the feature contested (a reviewer corrects only what was), its correction out of range
    used = next(c["value"] for c in p["contributions"] if c["feature"] == f.name)
    body = dispute_body(p, host) | {"contested_features": [
        {"feature": f.name, "claimed_value": other_value(f, used)}]}
    d = contest.client.post("/v1/disputes", json=body, headers=me)
    assert d.status_code == 201, d.text
    did = d.json()["dispute_id"]
    reviewer = contest.api.headers("reviewer")
    decision = {"decision": "rectified", "rationale": "checked",
                "corrected_features": {f.name: "__RAW__"}}
    _refused(_post_raw(contest.client, f"/v1/disputes/{did}/decision", decision, raw,
                       reviewer))
    _refused(_post_raw(contest.client, f"/v1/disputes/{did}/preview",
                       {"corrected_features": {f.name: "__RAW__"}}, raw, reviewer))
    # nothing was decided: the dispute is still open
    assert contest.api.get("/v1/reviews", role="reviewer").json()["items"][0][
        "dispute_id"] == did


def test_the_batch_skips_and_counts_rows_outside_the_domain(settings, host, tmp_path):
    from training.synthetic import generate

    spec = host.current().spec
    num, cat = _feature(spec, "number"), _feature(spec, "choice")
    lo, hi = num.valid_range()
    frame = generate(200, seed=31)
    frame[num.name] = frame[num.name].astype("object")
    frame[cat.name] = frame[cat.name].astype("object")
    bad = {0: (num.name, lo - 1), 1: (num.name, hi + 1), 2: (num.name, 1e300),
           3: (num.name, "twelve"), 4: (num.name, float("inf")), 5: (cat.name, "Martian")}
    if num.integer:
        bad[6] = (num.name, lo + 0.5)
    for row, (column, value) in bad.items():
        frame.loc[frame.index[row], column] = value
    frame.loc[frame.index[10], num.name] = None  # missing is not invalid
    path = tmp_path / "base.csv"
    frame.to_csv(path, index=False)
    db = Database(settings.database_url)
    report = score_file(settings, path, "training/datasets/synthetic.yaml", db=db, host=host,
                        chunk_rows=64)
    assert report.skipped_invalid == len(bad)
    assert report.scored == len(frame) - len(bad)
    expected = {f"{num.name}: out of range": 3, f"{num.name}: not a number": 1,
                f"{num.name}: not a finite number": 1, f"{cat.name}: unseen category": 1}
    if num.integer:
        expected[f"{num.name}: not a whole number"] = 1
    assert report.invalid_reasons == expected
    with db.session() as s:
        scored = set(s.scalars(sa.select(Prediction.customer_ref)))
    assert len(scored) == report.scored
    db.dispose()
