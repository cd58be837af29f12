"""The risk list: latest prediction per customer, highest first, keyset pages."""

import sqlalchemy as sa

from serving.storage.tables import Customer


def _all_pages(api, **params):
    items, cursor, pages = [], None, 0
    while True:
        page = api.get("/v1/risk-list", **params, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return items, pages


def test_ordering_and_paging(api, customers):
    api.score(customers[:50])
    items, pages = _all_pages(api, limit=7)
    assert len(items) == 50 and pages == 8
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    assert len({i["customer_ref"] for i in items}) == 50
    first = api.get("/v1/risk-list", limit=7).json()
    assert [i["prediction_id"] for i in first["items"]] == \
        [i["prediction_id"] for i in items[:7]]
    for i in items:
        assert len(i["reasons"]) == 3
        shap = [abs(r["shap"]) for r in i["reasons"]]
        assert shap == sorted(shap, reverse=True) and all(r["text"] for r in i["reasons"])
        assert i["customer_id"]  # agents need to know whom to call


def test_band_filter(api, customers):
    api.score(customers[:60])
    everyone, _ = _all_pages(api, limit=100)
    for band in ("high", "medium", "low"):
        items, _ = _all_pages(api, band=band, limit=5)
        assert {i["risk_band"] for i in items} <= {band}
        assert len(items) == sum(1 for i in everyone if i["risk_band"] == band)


def test_latest_prediction_per_customer(api, customers, host):
    c = customers[3]
    api.score(c)
    changed = {**c, "features": dict(c["features"])}
    tenure = next(f for f in host.current().spec.features if f.kind == "numeric")
    changed["features"][tenure.name] = tenure.max
    latest = api.score(changed).json()
    items, _ = _all_pages(api)
    assert [i["prediction_id"] for i in items] == [latest["prediction_id"]]
    # the entry names the model and the contract its receipt was made under
    assert items[0]["model"] == latest["model"]
    assert items[0]["model"]["contract_version"] == host.current().contract_version


def test_objected_and_restricted_are_not_listed(api, app, customers):
    out = api.score(customers[:6]).json()
    with app.state.db.session() as s:
        s.execute(sa.update(Customer).where(Customer.customer_ref == out[0]["customer_ref"])
                  .values(objected=True))
        s.execute(sa.update(Customer).where(Customer.customer_ref == out[1]["customer_ref"])
                  .values(restricted=True))
        s.commit()
    items, _ = _all_pages(api)
    refs = {i["customer_ref"] for i in items}
    assert len(refs) == 4
    assert out[0]["customer_ref"] not in refs and out[1]["customer_ref"] not in refs


def test_bad_cursor_is_422(api):
    r = api.get("/v1/risk-list", cursor="not-a-cursor")
    assert r.status_code == 422 and r.json()["fields"] == ["cursor"]
    assert api.get("/v1/risk-list", band="extreme").status_code == 422
    assert api.get("/v1/risk-list", limit=0).status_code == 422


def test_the_whole_list_merges_the_bands_by_score(api, app, customers):
    """Bands follow each model version's thresholds, so a 'medium' customer may outscore a
    'high' one: the unfiltered list is still in score order, every page, every customer
    once."""
    out = api.score(customers[:30]).json()
    by_score = sorted(out, key=lambda p: (-p["score"], p["customer_ref"]))
    with app.state.db.session() as s:
        for n, p in enumerate(by_score):  # bands interleaved against the scores
            s.execute(sa.update(Customer).where(Customer.customer_ref == p["customer_ref"])
                      .values(latest_band=("low", "medium", "high")[n % 3]))
        s.commit()
    for limit in (1, 4, 7, 30, 31):
        items, _ = _all_pages(api, limit=limit)
        assert [i["customer_ref"] for i in items] == [p["customer_ref"] for p in by_score]
    items, _ = _all_pages(api, limit=5, band="medium")
    assert [i["customer_ref"] for i in items] == [p["customer_ref"] for p in by_score[1::3]]


def test_ties_on_score_page_by_pseudonym_across_bands(api, app, customers):
    out = api.score(customers[:9]).json()
    with app.state.db.session() as s:
        for n, p in enumerate(out):
            s.execute(sa.update(Customer).where(Customer.customer_ref == p["customer_ref"])
                      .values(latest_score=0.5, latest_band=("low", "medium", "high")[n % 3]))
        s.commit()
    items, pages = _all_pages(api, limit=2)
    assert [i["customer_ref"] for i in items] == sorted(p["customer_ref"] for p in out)
    assert pages == 5


def test_task_filters_read_few_tasks_directly_and_many_by_band(api, app, customers,
                                                               monkeypatch):
    """Few customers with such a task are read directly, many by band in score order:
    the pages are the same either way."""
    from serving.storage import risk_list
    from serving.storage.tables import RetentionTask

    api.score(customers[:60])
    with app.state.db.session() as s:
        tasks = s.scalars(sa.select(RetentionTask.id).order_by(RetentionTask.id)).all()
        assert len(tasks) >= 4
        s.execute(sa.update(RetentionTask).where(RetentionTask.id.in_(tasks[::2]))
                  .values(status="claimed"))
        s.commit()
    cases = [(task, band) for task in ("open", "claimed", "none")
             for band in (None, "high", "medium")]
    direct = {c: _all_pages(api, limit=3, task=c[0], **({"band": c[1]} if c[1] else {}))[0]
              for c in cases}
    monkeypatch.setattr(risk_list, "FEW_TASKS", 0)
    for task, band in cases:
        by_band, _ = _all_pages(api, limit=3, task=task, **({"band": band} if band else {}))
        assert [i["customer_ref"] for i in by_band] == \
            [i["customer_ref"] for i in direct[(task, band)]], (task, band)
    assert len(direct[("claimed", None)]) == len(tasks[::2])
    assert len(direct[("open", None)]) == len(tasks) - len(tasks[::2])
