"""Every statement that writes a decision receipt, a customer's risk-list entry or a
retention task, for the three paths that make predictions (online scoring, the batch,
a reviewer's rectification), so that they cannot drift apart.

Rows are typed (`PredictionRow`, `LatestEntry`, `TaskRow`) and go through the database
driver (`executemany`, PostgreSQL's COPY) inside the caller's transaction: the domain
services decide and commit; this module only speaks SQL. Datetimes must already be in
storage form (`Receipts.db_time`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.storage.bulk import OPEN_TASK_WHERE, RawWriter
from serving.storage.tables import OPEN_TASK_STATUSES, Prediction, RetentionTask


class PredictionRow(NamedTuple):
    """One decision receipt, in the `predictions` table's column order."""

    id: str
    customer_ref: str
    model_name: str
    model_version: str
    score: float
    margin: float
    base_value: float
    risk_band: str
    features: str  # JSON of the values the model read (`models.explain.values_json`)
    shap: bytes  # `pack_shap` of the exact contributions
    route_action: str
    route_reason: str
    source: str  # api | batch | review
    actor: str
    withdrawn: bool
    created_at: Any  # storage form
    contract_version: str  # the served contract's digest (`ServedModel.contract_version`)
    # issue 17: the control-group arm (None: not drawn, because no task would be opened
    # or because the customer carries an open task from an earlier campaign period), the
    # targeting rule and the estimated uplift (`serving.loop.control.assign`); under
    # uplift targeting the customer's value used and the expected retained value of a call
    # (`serving.loop.targeting.decide`)
    arm: str | None = None
    targeting: str = "risk"
    uplift: float | None = None
    customer_value: float | None = None
    expected_value: float | None = None
    # a request sent with an Idempotency-Key (`serving.idempotency`): the key scoped to its
    # caller, the digest of its body and this record's place in it; None without a key
    request_key: str | None = None
    request_hash: str | None = None
    request_item: int | None = None


class KeyedReceipt(NamedTuple):
    """A receipt stored for a keyed request (`Receipts.keyed`)."""

    request_key: str
    request_item: int
    prediction_id: str
    request_hash: str


class LatestEntry(NamedTuple):
    """A customer's risk-list entry pointing at their newest receipt (SQLite binds the
    fields by number: keep their order, or change `Receipts.move_latest` with it)."""

    customer_ref: str
    external_id: str | None
    prediction_id: str
    score: float
    band: str
    at: Any  # storage form


class TaskRow(NamedTuple):
    """A human-contact task to open for a receipt."""

    id: str
    customer_ref: str
    prediction_id: str
    score: float
    reason: str
    created_at: Any  # storage form
    # issue 16: when the contact is due (storage form); None: created_at + the caller's
    # `due_days` (Settings.task_due_days), filled in by `Receipts.open_tasks`
    due_at: Any = None
    # issue 17: the expected retained value of the call under uplift targeting (the
    # queue's `value` sort); None under risk targeting
    expected_value: float | None = None


PREDICTION_COLUMNS = PredictionRow._fields


def by_ids(session: Session, ids: Sequence[str]) -> dict[str, Prediction]:
    """The receipts of these ids that exist, by id."""
    return {p.id: p for p in session.scalars(select(Prediction).where(Prediction.id.in_(
        sorted(set(ids)))))}


def open_task_of(session: Session, prediction_id: str) -> str | None:
    """The open or claimed task opened for this receipt, if any."""
    return session.scalar(select(RetentionTask.id).where(
        RetentionTask.prediction_id == prediction_id,
        RetentionTask.status.in_(OPEN_TASK_STATUSES)))


def history(session: Session, customer_ref: str, limit: int = 20) -> list[Prediction]:
    """The customer's receipts, newest first (withdrawn ones included)."""
    return list(session.scalars(
        select(Prediction).where(Prediction.customer_ref == customer_ref)
        .order_by(Prediction.created_at.desc(), Prediction.id.desc()).limit(limit)))


def _as_datetime(value: Any) -> datetime:
    """A storage-form time back to an aware datetime (SQLite keeps text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def pack_shap(values: np.ndarray) -> bytes:
    """Exact contributions as stored in a receipt (little-endian float64)."""
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


def unpack_shap(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f8")


class Standing(NamedTuple):
    """What decides whether and how some customers may be scored (`Receipts.standing`)."""

    flags: dict[str, tuple[bool, bool]]  # known customers -> (restricted, objected)
    erased: set[str]  # erasure tombstones
    overturned: dict[str, set[str]]  # the values of their withdrawn receipts
    # for each time asked about: the customers whose open or claimed task was created
    # before it (the control draw leaves them out: `serving.loop.control.assign`)
    carried: dict[datetime, set[str]]


def _carried_part(marks: str, mark: str, kind: int) -> str:
    """The statement (or UNION part) of the customers among `marks` whose open or claimed
    task was created before the time bound to `mark`."""
    return (f"SELECT {kind}, customer_ref, NULL, NULL, NULL FROM retention_tasks "
            f"WHERE customer_ref IN ({marks}) AND {OPEN_TASK_WHERE} AND created_at < {mark}")


class Receipts(RawWriter):
    """Receipts, risk-list entries and tasks, written in the session's transaction."""

    # -- who may be scored --------------------------------------------------------------
    def standing(self, refs: Sequence[str], lock: bool = False,
                 carried_before: Sequence[datetime] = ()) -> Standing:
        """`flags`, `erased`, `overturned` and `carried` of `refs` in one statement (the
        online write's reads, once per group commit). `carried_before`: the times asked
        about (the start of each campaign period the group draws for: one, or two across
        a period's end); `carried` then holds, for each, the customers whose open or
        claimed task was created before it (`carried`). With `lock` on PostgreSQL the
        customers' rows are locked first, as `flags` locks them (FOR UPDATE cannot be part
        of a UNION), and the others are read in one statement."""
        refs = sorted(set(refs))
        befores = sorted(set(carried_before))
        if not refs:
            return Standing({}, set(), {}, {b: set() for b in befores})
        marks = self.marks(len(refs))
        parts = [f"SELECT 1, customer_ref, NULL, NULL, NULL FROM erasures "
                 f"WHERE customer_ref IN ({marks})",
                 f"SELECT 2, customer_ref, NULL, NULL, features FROM predictions "
                 f"WHERE withdrawn AND customer_ref IN ({marks})"]
        flags: dict[str, tuple[bool, bool]] = {}
        if lock and self.dialect == "postgresql":
            flags = self.flags(refs, lock=True)
        else:
            parts.insert(0, "SELECT 0, customer_ref, restricted, objected, NULL FROM "
                         f"customers WHERE customer_ref IN ({marks})")
        params = tuple(refs) * len(parts)
        for k, before in enumerate(befores):  # kinds 3, 4, ...: one per time asked about
            parts.append(_carried_part(marks, self.mark, 3 + k))
            params += (*refs, self.db_time(before))
        out = Standing(flags, set(), {}, {b: set() for b in befores})
        for kind, ref, restricted, objected, features in self.fetchall(
                " UNION ALL ".join(parts), params):
            if kind == 0:
                flags[ref] = (bool(restricted), bool(objected))
            elif kind == 1:
                out.erased.add(ref)
            elif kind == 2:
                out.overturned.setdefault(ref, set()).add(features)
            else:
                out.carried[befores[kind - 3]].add(ref)
        return out

    def keyed(self, keys: Sequence[str]) -> dict[str, list[KeyedReceipt]]:
        """The receipts stored for requests sent with these (scoped) keys, by key, in the
        requests' order (the unique index `uq_predictions_request` finds them)."""
        keys = sorted(set(keys))
        if not keys:
            return {}
        out: dict[str, list[KeyedReceipt]] = {}
        for row in self.fetchall(
                "SELECT request_key, request_item, id, request_hash FROM predictions "
                f"WHERE request_key IN ({self.marks(len(keys))}) "
                "ORDER BY request_key, request_item", tuple(keys)):
            out.setdefault(row[0], []).append(KeyedReceipt(*row))
        return out

    def carried(self, refs: Sequence[str], before: datetime) -> set[str]:
        """The customers among `refs` whose open or claimed task was created before
        `before` (the start of a campaign period: they carry a task from an earlier one,
        and the control draw leaves them out)."""
        if not refs:
            return set()
        refs = sorted(set(refs))
        return {ref for _k, ref, *_ in self.fetchall(
            _carried_part(self.marks(len(refs)), self.mark, 3),
            (*refs, self.db_time(before)))}

    def open_task_since(self) -> dict[str, datetime]:
        """Every customer with an open or claimed task -> when it was created (one per
        customer: the partial unique index). The batch reads it once, at the start of a
        run, and its chunks (on Dask workers too) tell from it who carries a task from
        an earlier campaign period than theirs (`serving.loop.control.carried_over`)."""
        return {ref: _as_datetime(at) for ref, at in self.fetchall(
            f"SELECT customer_ref, created_at FROM retention_tasks WHERE {OPEN_TASK_WHERE}")}

    def flags(self, refs: Sequence[str], lock: bool = False) -> dict[str, tuple[bool, bool]]:
        """(restricted, objected) of the known customers among `refs`. With `lock`
        (PostgreSQL), their rows are locked in key order, so a dispute or objection being
        written for one of them is waited for and then seen."""
        if not refs:
            return {}
        refs = sorted(set(refs))
        tail = " FOR UPDATE" if lock and self.dialect == "postgresql" else ""
        return {ref: (bool(r), bool(o)) for ref, r, o in self.fetchall(
            "SELECT customer_ref, restricted, objected FROM customers WHERE customer_ref IN "
            f"({self.marks(len(refs))}) ORDER BY customer_ref{tail}", tuple(refs))}

    def flagged(self) -> dict[str, bool]:
        """Every restricted or objecting customer -> objected (a partial index answers)."""
        return dict(self.fetchall(
            "SELECT customer_ref, objected FROM customers WHERE restricted OR objected"))

    def erased(self, refs: Sequence[str] | None = None) -> set[str]:
        """Erasure tombstones among `refs` (all of them when None: they are few)."""
        if refs is None:
            return {ref for (ref,) in self.fetchall("SELECT customer_ref FROM erasures")}
        if not refs:
            return set()
        refs = sorted(set(refs))
        return {ref for (ref,) in self.fetchall(
            f"SELECT customer_ref FROM erasures WHERE customer_ref IN "
            f"({self.marks(len(refs))})", tuple(refs))}

    def overturned(self, refs: Sequence[str] | None = None) -> dict[str, set[str]]:
        """The values (features JSON) of the withdrawn receipts of the customers among
        `refs` (of every customer when None: they are few, and a partial index finds
        them), by customer."""
        if refs is not None and not refs:
            return {}
        sql, params = "SELECT customer_ref, features FROM predictions WHERE withdrawn", ()
        if refs is not None:
            refs = sorted(set(refs))
            sql += f" AND customer_ref IN ({self.marks(len(refs))})"
            params = tuple(refs)
        out: dict[str, set[str]] = {}
        for ref, features in self.fetchall(sql, params):
            out.setdefault(ref, set()).add(features)
        return out

    # -- the writes -----------------------------------------------------------------------
    def insert(self, rows: Sequence[PredictionRow]) -> None:
        """Store receipts (the one insert of every path)."""
        if not rows:
            return
        cols = ", ".join(PREDICTION_COLUMNS)
        if self.dialect == "postgresql":
            with self.dbapi.cursor() as cur, cur.copy(
                f"COPY predictions ({cols}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            # as plain tuples: sqlite3 binds a tuple's items directly, a NamedTuple's one
            # sequence look-up at a time (about 1 µs more per receipt of 22 columns)
            self.executemany(f"INSERT INTO predictions ({cols}) VALUES "
                             f"({self.marks(len(PREDICTION_COLUMNS))})", map(tuple, rows))

    def move_latest(self, entries: Sequence[LatestEntry], *, new_at: Any = None,
                    unless_flagged: bool = True) -> None:
        """Add or update customers and point their risk-list entry at the given receipt.

        An older receipt never overwrites a newer one. With `unless_flagged` (scoring), a
        customer restricted or objecting since the rows were read keeps their entry; a
        reviewer's rectification (`unless_flagged=False`) moves it while another dispute
        still keeps the record restricted, so the corrected receipt is the one in use
        once the restriction is lifted. A new customer's `created_at` is `new_at`
        (default: the entry's time)."""
        if not entries:
            return
        guard = (" AND NOT customers.restricted AND NOT customers.objected"
                 if unless_flagged else "")
        update = ("latest_prediction_id = excluded.latest_prediction_id, "
                  "latest_score = excluded.latest_score, latest_band = excluded.latest_band, "
                  "latest_at = excluded.latest_at "
                  "WHERE (customers.latest_at IS NULL OR customers.latest_at <= excluded.latest_at)"
                  + guard)
        columns = ("customer_ref, external_id, created_at, restricted, objected, "
                   "latest_prediction_id, latest_score, latest_band, latest_at")
        if self.dialect != "postgresql" and new_at is None:
            # the entries bound as they are, their fields numbered (?6: `at` twice, as the
            # new customer's creation time too): no second row built per customer
            self.executemany(f"INSERT INTO customers ({columns}) VALUES (?1, ?2, ?6, false, "
                             "false, ?3, ?4, ?5, ?6) ON CONFLICT (customer_ref) DO UPDATE SET "
                             f"{update}", entries)
            return
        rows = [(e.customer_ref, e.external_id, e.at if new_at is None else new_at,
                 e.prediction_id, e.score, e.band, e.at) for e in entries]
        if self.dialect == "postgresql":
            self._copy_temp("_batch_scored", "customer_ref text, external_id text, "
                            "created_at timestamptz, prediction_id text, score float8, "
                            "band text, at timestamptz", rows)
            self.execute(f"INSERT INTO customers ({columns}) SELECT customer_ref, external_id, "
                         "created_at, false, false, prediction_id, score, band, at "
                         "FROM _batch_scored ON CONFLICT (customer_ref) DO UPDATE SET "
                         + update)
            return
        self.executemany(f"INSERT INTO customers ({columns}) VALUES ({self.marks(3)}, false, "
                         f"false, {self.marks(4)}) ON CONFLICT (customer_ref) DO UPDATE SET "
                         f"{update}", rows)

    def clear_entries(self, entries: Sequence[tuple[str, str]]) -> None:
        """Take each customer off the risk list if the paired receipt is their entry
        (pairs of customer_ref, prediction_id)."""
        if entries:
            self.executemany(
                "UPDATE customers SET latest_prediction_id = NULL, latest_score = NULL, "
                f"latest_band = NULL, latest_at = NULL WHERE customer_ref = {self.mark} "
                f"AND latest_prediction_id = {self.mark}", list(entries))

    def withdraw(self, prediction_id: str) -> None:
        """Flag a receipt as withdrawn from all use (it stays, as the record of it)."""
        self.execute(f"UPDATE predictions SET withdrawn = {self._true} WHERE id = {self.mark}",
                     (prediction_id,))

    def due_at(self, created_at: Any, due_days: int) -> Any:
        """When a task opened at `created_at` is due: `due_days` later (storage form)."""
        return self.db_time(_as_datetime(created_at) + timedelta(days=due_days))

    def open_tasks(self, rows: Iterable[TaskRow], due_days: int | None) -> list[TaskRow]:
        """Open a human-contact task per row, never a second open one per customer (the
        partial unique index decides: an unclaimed open task is pointed at the newer
        receipt, a claimed one is left to its agent, and either keeps its due date), and
        never for a customer who is restricted or objecting at the time of the write. One
        row per customer. A task without its own `due_at` is due `due_days` after it opens
        (the caller's `Settings.task_due_days`, CHURN_TASK_DUE_DAYS, passed down from
        the entry point: nothing here reads the environment; None when every row carries
        its `due_at`). Returns the rows that opened a new task (with their due date), for
        the caller's audit."""
        rows = list(rows)
        if not rows:
            return []
        due: dict[Any, Any] = {}  # a batch chunk shares one creation time
        for n, r in enumerate(rows):
            if r.due_at is None:
                if due_days is None:
                    raise ValueError(f"task {r.id} has no due_at and no due_days was given")
                if r.created_at not in due:
                    due[r.created_at] = self.due_at(r.created_at, due_days)
                rows[n] = r._replace(due_at=due[r.created_at])
        m = self.mark
        sql = ("INSERT INTO retention_tasks (id, customer_ref, prediction_id, score, reason, "
               "created_at, due_at, expected_value, updated_at, status, version) "
               f"SELECT {self.marks(9)}, 'open', 1 WHERE NOT EXISTS (SELECT 1 FROM "
               f"customers WHERE customer_ref = {m} AND (restricted OR objected)) "
               f"ON CONFLICT (customer_ref) WHERE {OPEN_TASK_WHERE} DO UPDATE SET "
               "prediction_id = excluded.prediction_id, score = excluded.score, "
               "reason = excluded.reason, expected_value = excluded.expected_value, "
               "updated_at = excluded.updated_at "
               "WHERE retention_tasks.status = 'open'")
        self.executemany(sql, [(r.id, r.customer_ref, r.prediction_id, r.score, r.reason,
                                r.created_at, r.due_at, r.expected_value, r.created_at,
                                r.customer_ref) for r in rows])
        # The ids are new: those now in the table opened a task (read on the primary key
        # over the rows' id range, UUIDv7 being time-ordered).
        ids = sorted(r.id for r in rows)
        found = {i for (i,) in self.fetchall(
            f"SELECT id FROM retention_tasks WHERE id >= {m} AND id <= {m}", (ids[0], ids[-1]))}
        return [r for r in rows if r.id in found]

    def open_task_ids(self, refs: Sequence[str]) -> dict[str, str]:
        """The open or claimed task of each customer among `refs` that has one."""
        if not refs:
            return {}
        refs = sorted(set(refs))
        return dict(self.fetchall(
            "SELECT customer_ref, id FROM retention_tasks WHERE customer_ref IN "
            f"({self.marks(len(refs))}) AND {OPEN_TASK_WHERE}", tuple(refs)))

    def cancel_open_tasks(self, customer_ref: str, note: str, at: datetime,
                          prediction_id: str | None = None) -> list[str]:
        """Cancel the customer's open or claimed tasks (all, or those of one receipt),
        with `note` saying why; returns their ids."""
        m = self.mark
        where = f"customer_ref = {m} AND {OPEN_TASK_WHERE}"
        params: tuple = (customer_ref,)
        if prediction_id is not None:
            where += f" AND prediction_id = {m}"
            params += (prediction_id,)
        ids = [i for (i,) in self.fetchall(
            f"SELECT id FROM retention_tasks WHERE {where} ORDER BY id", params)]
        if ids:
            self.execute(
                f"UPDATE retention_tasks SET status = 'cancelled', note = {m}, "
                f"updated_at = {m}, version = version + 1 "
                f"WHERE id IN ({self.marks(len(ids))})",
                (note, self.db_time(at), *ids))
        return ids

    @property
    def _true(self) -> str:
        return "true" if self.dialect == "postgresql" else "1"
