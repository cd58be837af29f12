"""`make score`: batch scoring fills the risk list and never duplicates open tasks."""

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from models import pseudonymise
from serving import cli
from serving.batch import BatchError, pseudonymiser, score_file
from serving.main import create_app
from serving.storage import Database
from serving.storage.tables import Customer, Prediction, RetentionTask

SCHEMA = "training/datasets/synthetic.yaml"


def _base(tmp_path, rows=1500, seed=5, fmt="csv"):
    from training.synthetic import generate

    frame = generate(rows, seed=seed)
    path = tmp_path / f"base.{fmt}"
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
    return path, frame


def _counts(db):
    with db.session() as s:
        open_by_customer = s.execute(
            sa.select(RetentionTask.customer_ref, sa.func.count())
            .where(RetentionTask.status.in_(("open", "claimed")))
            .group_by(RetentionTask.customer_ref)
        ).all()
        preds = s.scalar(sa.select(sa.func.count()).select_from(Prediction))
    return open_by_customer, preds


def test_score_fills_the_risk_list_without_duplicating_tasks(settings, host, tmp_path,
                                                              tokens):
    path, frame = _base(tmp_path)
    db = Database(settings.database_url)
    report = score_file(settings, path, SCHEMA, db=db, host=host, chunk_rows=400)
    assert report.rows_read == report.scored == len(frame)
    assert report.high > 0 and report.human_contact >= report.high
    tasks, preds = _counts(db)
    assert preds == len(frame)
    assert len(tasks) == report.human_contact == report.open_tasks_after
    assert all(n == 1 for _, n in tasks)

    # several transactions this time (one per 700 rows)
    again = score_file(settings.model_copy(update={"batch_commit_rows": 600}), path, SCHEMA,
                       db=db, host=host, chunk_rows=700)
    tasks2, preds2 = _counts(db)
    assert preds2 == 2 * len(frame)  # every run is a new receipt
    assert sorted(tasks2) == sorted(tasks)  # but no second open task
    assert again.open_tasks_before == again.open_tasks_after == len(tasks)

    app = create_app(settings, host=host)
    with TestClient(app) as c:
        h = {"Authorization": f"Bearer {tokens['agent']}"}
        page = c.get("/v1/risk-list", params={"limit": 20, "band": "high"}, headers=h).json()
        assert len(page["items"]) == 20 and page["next_cursor"]
        scores = [i["score"] for i in page["items"]]
        assert scores == sorted(scores, reverse=True)
        assert all(i["open_task_id"] for i in page["items"])
        with db.session() as s:
            latest_ids = set(s.scalars(sa.select(Customer.latest_prediction_id)))
        assert {i["prediction_id"] for i in page["items"]} <= latest_ids
        # the batch agrees with online scoring of the same customer
        top = page["items"][0]
        row = frame[frame["customer_id"] == top["customer_id"]].iloc[0]
        features = {n: (None if row[n] != row[n] else (row[n].item() if hasattr(row[n], "item")
                        else row[n])) for n in host.current().model.feature_names}
        online = c.post("/v1/predictions", headers=h,
                        json={"customer_id": top["customer_id"], "features": features}).json()
        assert abs(online["score"] - top["score"]) < 1e-9
        with db.session() as s:
            from_batch = s.get(Prediction, top["prediction_id"])
            from_api = s.get(Prediction, online["prediction_id"])
            # the same receipt text: values read, route and reason
            assert from_batch.features == from_api.features
            assert (from_batch.route_action, from_batch.route_reason) == (
                from_api.route_action, from_api.route_reason)
            assert from_batch.shap == from_api.shap
    assert 0 < report.setup_seconds < report.seconds
    assert 0 <= report.teardown_seconds < report.seconds - report.setup_seconds
    assert report.rows_per_second == pytest.approx(
        report.scored / (report.seconds - report.setup_seconds - report.teardown_seconds))
    db.dispose()


def test_objected_and_restricted_are_skipped(settings, host, tmp_path):
    path, frame = _base(tmp_path, rows=300, fmt="parquet")
    db = Database(settings.database_url)
    score_file(settings, path, SCHEMA, db=db, host=host)
    ids = frame["customer_id"].astype(str).tolist()
    refs = [pseudonymise(i, settings.pseudonym_secret) for i in ids[:2]]
    with db.session() as s:
        s.execute(sa.update(Customer).where(Customer.customer_ref == refs[0])
                  .values(objected=True))
        s.execute(sa.update(Customer).where(Customer.customer_ref == refs[1])
                  .values(restricted=True))
        s.commit()
    report = score_file(settings, path, SCHEMA, db=db, host=host)
    assert (report.skipped_objected, report.skipped_restricted) == (1, 1)
    assert report.scored == 298
    with db.session() as s:
        for ref in refs:
            n = s.scalar(sa.select(sa.func.count()).select_from(Prediction)
                         .where(Prediction.customer_ref == ref))
            assert n == 1  # only the first run's
    db.dispose()


def test_an_erased_customer_does_not_come_back_with_the_next_file(settings, host, tmp_path,
                                                                  client, tokens):
    path, frame = _base(tmp_path, rows=200, fmt="parquet")
    db = Database(settings.database_url)
    score_file(settings, path, SCHEMA, db=db, host=host)
    gone = str(frame["customer_id"].iloc[3])
    ref = pseudonymise(gone, settings.pseudonym_secret)
    r = client.delete(f"/v1/customers/{gone}", headers={"Authorization":
                                                        f"Bearer {tokens['admin']}"})
    assert r.status_code == 200, r.text
    report = score_file(settings, path, SCHEMA, db=db, host=host)
    assert report.skipped_erased == 1 and report.scored == 199
    with db.session() as s:
        assert s.get(Customer, ref) is None
        assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)
                        .where(Prediction.customer_ref == ref)) == 0
    db.dispose()


def test_rows_limit_and_bad_inputs(settings, host, tmp_path):
    path, _ = _base(tmp_path, rows=200)
    db = Database(settings.database_url)
    assert score_file(settings, path, SCHEMA, rows=50, db=db, host=host).scored == 50
    for bad in (tmp_path / "nope.csv",):
        try:
            score_file(settings, bad, SCHEMA, db=db, host=host)
        except BatchError as exc:
            assert "does not exist" in str(exc)
        else:
            raise AssertionError("missing file accepted")
    db.dispose()


def test_fast_pseudonyms_match_the_contract():
    fast = pseudonymiser("k")
    for cid in ("7590-VHVEG", "é", "1"):
        assert fast(cid) == pseudonymise(cid, "k")


def test_cli_without_data_says_how_to_get_some(capsys):
    assert cli.main(["score"]) == 2
    err = capsys.readouterr().err
    assert "--data" in err and "training.cli generate" in err


def test_cli_score_and_create_user(settings, trained, tmp_path, monkeypatch, capsys):
    path, _ = _base(tmp_path, rows=200)
    monkeypatch.setenv("CHURN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHURN_TRACKING_URI", trained.tracking_uri)
    monkeypatch.setenv("CHURN_MODEL_URI", trained.model_uri)
    assert cli.main(["migrate"]) == 0
    assert cli.main(["score", "--data", str(path), "--schema", SCHEMA]) == 0
    out = capsys.readouterr().out
    assert '"scored": 200' in out
    # --rows on the default (Dask) path, as on the single-process one
    assert cli.main(["score", "--data", str(path), "--schema", SCHEMA, "--rows", "50",
                     "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert '"rows_read": 50' in out and '"scored": 50' in out
    assert cli.main(["create-user", "--role", "reviewer", "--name", "Rita"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("st_")
    db = Database(settings.database_url)
    from serving.auth.users import find_by_token

    with db.session() as s:
        user = find_by_token(s, token)
        assert user is not None and user.role == "reviewer" and user.token_hash != token
    db.dispose()
    assert cli.main(["create-user", "--role", "reviewer", "--name", " "]) == 2


def test_the_memo_changes_nothing_but_the_time(base_settings, host, tmp_path, monkeypatch):
    """Explaining each distinct row once stores exactly the receipts that explaining every
    row stores; a model explained by table (`models.treeshap`) skips the memo, which
    would cost more than it saves."""
    from training.synthetic import generate

    frame = generate(1200, seed=12)
    # a customer base where many customers share their values
    twins = frame.sample(1800, replace=True, random_state=4).reset_index(drop=True)
    twins["customer_id"] = [f"T{n:05d}" for n in range(len(twins))]
    path = tmp_path / "twins.parquet"
    twins.to_parquet(path, index=False)

    def receipts(memo_rows: int, name: str = "") -> tuple[dict, object]:
        url = f"sqlite:///{tmp_path}/memo_{memo_rows}{name}.db"
        settings = base_settings.model_copy(update={"database_url": url,
                                                    "batch_memo_rows": memo_rows})
        db = Database(url)
        report = score_file(settings, path, SCHEMA, db=db, host=host, chunk_rows=500)
        with db.session() as s:
            rows = {p.customer_ref: (p.score, p.margin, p.base_value, p.risk_band, p.features,
                                     p.shap, p.route_action, p.route_reason)
                    for p in s.scalars(sa.select(Prediction))}
            tasks = sorted(s.scalars(sa.select(RetentionTask.customer_ref)))
        db.dispose()
        return {"predictions": rows, "tasks": tasks}, report

    every_row, plain = receipts(0)
    memoised, fast = receipts(300)  # smaller than the distinct rows: it fills and restarts
    assert len(every_row["predictions"]) == len(twins)
    assert memoised == every_row
    assert (fast.scored, fast.high, fast.human_contact) == (
        plain.scored, plain.high, plain.human_contact)
    # the memo is left out for a model explained by table: every row is computed
    assert host.current().model.explained_by_table
    assert fast.treeshap_rows == fast.scored == plain.treeshap_rows
    # as for a model LightGBM explains, the memo computes each distinct row once
    from models import ChurnModel

    monkeypatch.setattr(ChurnModel, "explained_by_table", property(lambda self: False))
    memoised, fast = receipts(300, "_lightgbm")
    assert memoised == every_row
    assert fast.treeshap_rows < fast.scored == plain.scored


def test_a_customer_listed_twice_ends_with_the_later_row_whatever_the_clocks(settings, host,
                                                                            tmp_path):
    """Chunks scored side by side can be scored out of file order; the writer, which takes
    them in file order, still leaves the later row on the risk list."""
    from serving.batch import BatchReport, ChunkWriter, prepare_chunk
    from training.synthetic import generate

    frame = generate(400, seed=9)
    early, late = frame.iloc[:200].copy(), frame.iloc[200:].copy()
    late.iloc[0, late.columns.get_loc("customer_id")] = early["customer_id"].iloc[5]
    served = host.current()
    db = Database(settings.database_url)
    from serving.storage import upgrade

    upgrade(db.engine)
    # the later chunk is scored first: its clock says it is older
    second = prepare_chunk(served, late, "customer_id", settings, db.dialect)
    first = prepare_chunk(served, early, "customer_id", settings, db.dialect)
    assert second.scored_at < first.scored_at
    report = BatchReport(data="two chunks", model_name=served.name,
                         model_version=served.version)
    with ChunkWriter(db, report, commit_rows=1, due_days=settings.task_due_days) as writer:
        writer.write(first)
        writer.write(second)
    ref = pseudonymise(str(early["customer_id"].iloc[5]), settings.pseudonym_secret)
    later = next(p for p in second.predictions if p[1] == ref)
    with db.session() as s:
        customer = s.get(Customer, ref)
        assert customer.latest_prediction_id == later[0]
        assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)
                        .where(Prediction.customer_ref == ref)) == 2
    assert report.scored == 400
    db.dispose()


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_collector_is_paused_for_a_pass_and_left_as_it_was(enabled_before):
    """The scoring pass turns Python's automatic garbage collection off (its receipt
    tuples made each collection walk them again) and leaves it as it found it, however
    the blocks nest or end (threads of one Dask worker each run one)."""
    import gc

    from serving.batch import collector_paused

    was = gc.isenabled()
    (gc.enable if enabled_before else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
            with collector_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()  # the outer block still runs
        assert gc.isenabled() is enabled_before
        with pytest.raises(RuntimeError), collector_paused():
            raise RuntimeError("a failed pass")
        assert gc.isenabled() is enabled_before
    finally:
        (gc.enable if was else gc.disable)()
