"""Customer ids have a documented character set (serving/scoring/schemas.py: 1-200
characters, no control character, no '/' or '\\', not '.' or '..'), and every id the API
accepts can be addressed in a path: linked, read back and erased, on SQLite and PostgreSQL.
Ids outside the set are refused at scoring with a 422 naming customer_id (they used to be
scored, and could then never be erased nor linked)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.serving.conftest import open_session

# (an id holding the text "%2F" is checked against a live server, tests/e2e/
# test_customer_ids.py: Starlette's TestClient decodes a path twice)
ACCEPTED = ["a b", "Zoë-😀-中文", "100%", "a?b=c&d", "a#b", "a+b", "a;b", "..x",
            "x.", "~user", "-", " lead", "x" * 200, "\"quoted\"", "<tag>", "a\u00a0b"]
REFUSED = ["a/b", "/", "a\\b", ".", "..", "a\tb", "a\nb", "a\n", "\x7fx", "a\x85b", "", "x" * 201]


def path_of(customer_id: str) -> str:
    return quote(customer_id, safe="")


def test_every_accepted_id_is_linked_read_and_erased(api, customers):
    base = customers[0]
    scored = api.score([base | {"customer_id": cid} for cid in ACCEPTED])
    assert scored.status_code == 201, scored.text
    for cid, pred in zip(ACCEPTED, scored.json(), strict=True):
        link = api.post(f"/v1/customers/{path_of(cid)}/access-link", role="integration")
        assert link.status_code == 201, (cid, link.text)
        me = api.client.get("/v1/me", headers={
            "Authorization": f"Bearer {open_session(api.client, link.json()['token'])}"})
        assert me.status_code == 200, (cid, me.text)
        assert me.json()["latest_prediction_id"] == pred["prediction_id"], (cid, me.text)
        gone = api.client.delete(f"/v1/customers/{path_of(cid)}", headers=api.headers("admin"))
        assert gone.status_code == 200, (cid, gone.text)
        again = api.client.delete(f"/v1/customers/{path_of(cid)}",
                                  headers=api.headers("admin"))
        assert again.status_code == 404, (cid, again.text)


@pytest.mark.parametrize("customer_id", REFUSED)
def test_ids_outside_the_set_are_refused_at_scoring(api, customers, customer_id):
    item = customers[0] | {"customer_id": customer_id}
    for body in (item, [customers[1], item]):
        r = api.score(body)
        assert r.status_code == 422, (customer_id, r.status_code, r.text)
        errors = r.json()["errors"]
        assert any(e["field"].endswith("customer_id") for e in errors), errors


def test_the_rule_is_in_the_openapi_document(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ScoreRequest"]
    prop = schema["properties"]["customer_id"]
    assert prop["maxLength"] == 200 and prop["pattern"].startswith("^[^/")
    assert "'/'" in prop["description"]


def test_the_batch_skips_and_counts_ids_outside_the_set(settings, host, tmp_path):
    """The same rule in the nightly batch: such rows are skipped and counted, never stored."""
    import sqlalchemy as sa

    from serving.batch import score_file
    from serving.storage import Database
    from serving.storage.tables import Customer
    from training.synthetic import generate

    frame = generate(60, seed=9)
    frame["customer_id"] = frame["customer_id"].astype("object")
    bad = {0: "a/b", 1: ".", 2: "x\\y", 3: "x" * 201}
    for row, value in bad.items():
        frame.loc[frame.index[row], "customer_id"] = value
    frame.loc[frame.index[4], "customer_id"] = "a b?#%2F"  # accepted
    path = tmp_path / "base.csv"
    frame.to_csv(path, index=False)
    db = Database(settings.database_url)
    report = score_file(settings, path, "training/datasets/synthetic.yaml", db=db, host=host)
    assert report.skipped_invalid == len(bad)
    assert report.scored == len(frame) - len(bad)
    (reason,) = report.invalid_reasons
    assert reason.startswith("customer_id: not 1-200 characters")
    with db.session() as s:
        kept = set(s.scalars(sa.select(Customer.external_id)))
    assert "a b?#%2F" in kept and not kept & set(bad.values())
    db.dispose()
