"""Command line: `python -m serving.cli serve|score|migrate|deliver|purge|...` (see --help)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from models.settings import settings_or_exit
from serving.auth.principal import STAFF_ROLES
from serving.config import Settings
from serving.isotime import when
from serving.loop import cli as loop_cli
from serving.rights import cli as rights_cli
from serving.scoring import WRITER_STORE

# How `serve` runs uvicorn (bench/ceiling.py runs its reference server the same way, so the
# benchmark compares applications, not HTTP stacks). "auto" picks uvloop and httptools,
# which uvicorn[standard] installs. The app logs each request itself, without query strings
# (access-link tokens), so uvicorn's access log is off.
UVICORN: dict = {"loop": "auto", "http": "auto", "access_log": False}

NO_DATA = """\
No customer data given: `score` needs the customer base to score.
  python -m serving.cli score --data <file.csv|file.parquet> --schema <dataset schema .yaml>
For a synthetic base from the generator:
  python -m training.cli generate --rows 100000 --out var/customers.csv
  make score DATA=var/customers.csv SCHEMA=training/datasets/synthetic.yaml"""


def _wait_for(pid: int) -> None:
    """Until process `pid` has ended (it may not be our child: its exit status is its
    parent's to report; the model it should have registered is looked for afterwards, and
    its absence refused as at any start)."""
    import os
    import time

    def ended() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, someone else's
            return False
        try:  # ended but not yet reaped by its parent (a zombie) counts as ended
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return False

    # the tracking store's code, imported now (nothing opened: the training creates it)
    import mlflow.store.model_registry.sqlalchemy_store  # noqa: F401
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401

    while not ended():
        time.sleep(0.2)


def _first_admin(settings: Settings) -> None:
    """Development only: without CHURN_ADMIN_TOKEN and without any admin yet, create one
    and print its token once, so a new user can sign in after `make run`."""
    from sqlalchemy import select

    from serving.auth.users import create_user
    from serving.storage import Database, upgrade
    from serving.storage.tables import StaffUser

    db = Database(settings.database_url)
    try:
        upgrade(db.engine)
        with db.session() as session:
            if session.scalar(select(StaffUser.id).where(StaffUser.role == "admin").limit(1)):
                print("staff: sign in with an existing token, or create one with "
                      "`make create-user ROLE=admin NAME=...`")
                return
            _, token = create_user(session, "first admin", "admin")
        print("=" * 72)
        print("Development: created the first admin. Token (shown once, keep it):")
        print(f"  {token}")
        print(f"Staff pages: {settings.public_base_url}/staff  API docs: "
              f"{settings.public_base_url}/docs")
        print("=" * 72, flush=True)
    finally:
        db.dispose()


def _staff_command(args: argparse.Namespace, settings: Settings) -> int:
    """Staff administration from the command line, audited as the operator (`cli:<login>`)."""
    import getpass

    from serving.errors import DomainError
    from serving.staff import service as staff
    from serving.storage import Database, upgrade

    who = f"cli:{getpass.getuser()}"
    db = Database(settings.database_url)
    if settings.migrate_on_start:
        upgrade(db.engine)
    try:
        with db.session() as session:
            if args.command == "create-user":
                made = staff.create(session, args.name, args.role, who)
                print(f"created {made.role} {made.name!r} (id {made.user_id}); token, shown "
                      "only once:")
                print(made.token)
            elif args.command == "list-users":
                for u in staff.list_users(session).items:
                    print(f"{u.user_id}  {u.role:<11}  {'active' if u.active else 'inactive':<8}"
                          f"  {u.name}")
            else:
                user = staff.find_by_name(session, args.name)
                if args.command == "deactivate-user":
                    staff.deactivate(session, user.id, who)
                    print(f"deactivated {user.name!r}: their token and sessions no longer work")
                elif args.command == "rotate-token":
                    out = staff.rotate_token(session, user.id, who)
                    print(f"new token for {user.name!r}, shown only once:")
                    print(out.token)
                else:
                    out = staff.change_role(session, user.id, args.role, who)
                    print(f"{user.name!r} is now {out.role}")
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="serving", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="start the API (uvicorn) with the CHURN_* settings")
    p_serve.add_argument("--after", type=int, metavar="PID", help="prepare everything that "
                         "needs no model (imports, database), then wait for process PID "
                         "(the training of the first model: `make run`) to end before "
                         "loading the model and listening")
    p_score = sub.add_parser(
        "score", help="batch-score a customer base into the risk list",
        description="Batch-score a customer base into the risk list. A run is the file "
        "(by the digest of its bytes, wherever it lies) scored by the served model version. "
        "If a run dies half way, running the same command again resumes it: the rows its "
        "committed transactions stored are skipped, not scored a second time, and the "
        "report says so (resumed, skipped_done: those rows, scored_before: their "
        "receipts). A run that completed, run again, is a new run that scores everyone "
        "again; --restart abandons an unfinished run and scores every row again. Started "
        "again while the first still runs, the later command takes the run over and the "
        "earlier one stops at its next commit (nothing is stored twice).")
    p_score.add_argument("--data", help="CSV or Parquet file of customers")
    p_score.add_argument("--schema", help="dataset schema YAML (its id_column names customers)")
    p_score.add_argument("--rows", type=int, help="score only the first N rows")
    p_score.add_argument("--chunk-rows", type=int, help="rows per chunk")
    p_score.add_argument("--workers", type=int, default=None,
                         help="Dask LocalCluster workers (default: CHURN_BATCH_WORKERS)")
    p_score.add_argument("--scheduler", default=None,
                         help="a running Dask scheduler (default: $DASK_SCHEDULER_ADDRESS)")
    p_score.add_argument("--single-process", action="store_true",
                         help="score without Dask: this process writes, and prepares the "
                         "chunks in threads, or in one child process for a file of "
                         "CHURN_BATCH_PROCESS_ROWS (200,000) rows or more")
    p_score.add_argument("--restart", action="store_true",
                         help="do not resume an unfinished run of this file and model (it "
                         "is abandoned): score every row again; by default the same "
                         "command after a crash resumes after the rows already committed")
    p_user = sub.add_parser("create-user", help="create a staff user and print its token")
    p_user.add_argument("--role", required=True,
                        choices=list(STAFF_ROLES))
    p_user.add_argument("--name", required=True)
    sub.add_parser("migrate", help="apply the database migrations")
    sub.add_parser("list-users", help="list the staff users (never a token)")
    for cmd, text in (("deactivate-user", "deactivate a staff user (their sessions end)"),
                      ("rotate-token", "give a staff user a new token (printed once)"),
                      ("set-role", "change a staff user's role")):
        p_admin = sub.add_parser(cmd, help=text)
        p_admin.add_argument("--name", required=True, help="the user's name")
        if cmd == "set-role":
            p_admin.add_argument("--role", required=True,
                                 choices=list(STAFF_ROLES))
    p_deliver = sub.add_parser(
        "deliver", help="deliver the outbox's messages to customers (SMTP with "
        "CHURN_SMTP_URL, else the development mailbox), until stopped")
    p_deliver.add_argument("--once", action="store_true",
                           help="one pass over the due messages, then exit")
    p_mail = sub.add_parser(
        "mailbox", help="development: list the messages delivered to the local mailbox "
        "(CHURN_MAILBOX_DIR), newest last, with their links")
    p_mail.add_argument("--to", help="only the messages to this address")
    p_mail.add_argument("--last", type=int, default=20, help="how many (default 20)")
    loop_cli.add_parsers(sub)  # outcomes, contact-effect, export-training (issue 17)
    p_purge = sub.add_parser(
        "purge", help="delete what the retention schedule says is due (CHURN_RETENTION_*), "
        "audited; prints the counts per kind")
    p_purge.add_argument("--dry-run", action="store_true",
                         help="count what would be deleted; change nothing")
    p_rev = sub.add_parser(
        "export-reviewed", help="write the disputes decided rectified or overturned, with "
        "the data as decided and the champion's scores (Parquet, pseudonyms only): read by "
        "make promote")
    p_rev.add_argument("--out", required=True, help="output .parquet file")
    p_an = sub.add_parser(
        "contest-analytics", help="contest analytics as CSV (small cells suppressed); with "
        "--attributes and --schema, also by sensitive group from the customer file's audit "
        "attributes (joined by pseudonym, never kept)")
    p_an.add_argument("--attributes", help="customer file (CSV or Parquet) with the id and "
                      "sensitive columns")
    p_an.add_argument("--schema", help="its dataset schema (id_column, sensitive)")
    p_an.add_argument("--since", type=when, help="disputes received from (ISO, UTC)")
    p_an.add_argument("--until", type=when, help="...and before")
    p_an.add_argument("--out", help="CSV file (default: standard output)")
    p_comp = sub.add_parser(
        "compliance-report", help="write the record of processing and the compliance "
        "report (HTML and JSON): requests and deadlines, disputes, models served with their "
        "cards, the audit chain verified")
    p_comp.add_argument("--out", default="reports/compliance", help="output directory")
    p_comp.add_argument("--since", type=when, help="period start (ISO date or time, UTC)")
    p_comp.add_argument("--until", type=when, help="period end, excluded")
    p_comp.add_argument("--lang", choices=["en", "fr"], default="en",
                        help="the reader's language: words, numbers and dates (default en)")
    rights_cli.add_parsers(sub)  # rights-due (issue 18)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = settings_or_exit(Settings)

    if args.command == "serve":
        from serving.system.lean import leave_out_unused

        leave_out_unused()  # before anything imports LightGBM
        from serving.system.preflight import StartupError, check

        try:  # a database or Redis that cannot be used: one line, no traceback
            check(settings)  # before the app's (slow) imports: fail fast
            from serving.storage import writerproc

            # the writer process's fork server imports what it needs on another core
            # while this process imports the app and loads the model
            writerproc.warm_up(settings.writer, settings.database_url, WRITER_STORE)
            import uvicorn

            from serving.main import create_app
            from serving.modelhost import ModelHost, ModelRejected

            host = ModelHost(settings)
            app = create_app(settings, server=True, host=host)
            if args.after:
                _wait_for(args.after)
            if settings.model_required:
                # loaded here, not in the app's start-up: a model that cannot be served
                # is one line naming it and the fix, not a server traceback
                try:
                    host.load()
                except ModelRejected as exc:
                    raise StartupError(f"cannot start: {exc.detail}") from None
            if settings.mode == "dev" and settings.admin_token is None:
                _first_admin(settings)
        except StartupError as exc:
            raise SystemExit(str(exc)) from None
        from serving.system.tuning import lean_log_records, threads_switch_often

        threads_switch_often()  # the group-commit writer thread gets the GIL back in time
        lean_log_records()  # the access line's record without what no handler prints
        uvicorn.run(app, host=settings.host, port=settings.port, **UVICORN)
        return 0
    if args.command == "migrate":
        from serving.storage import Database, upgrade
        from serving.storage.migrate import current

        db = Database(settings.database_url)
        upgrade(db.engine)
        print(f"database at revision {current(db.engine)}")
        db.dispose()
        return 0
    if args.command == "deliver":
        from serving.delivery.service import deliver_once, run_forever
        from serving.storage import Database, upgrade

        db = Database(settings.database_url)
        if settings.migrate_on_start:
            upgrade(db.engine)
        try:
            if args.once:
                print(json.dumps(deliver_once(db, settings)))
            else:
                run_forever(db, settings)
        finally:
            db.dispose()
        return 0
    if args.command == "mailbox":
        from serving.delivery.transport import read_mailbox

        found = [m for m in read_mailbox(settings.mailbox_dir)
                 if not args.to or m["To"] == args.to][-max(args.last, 1):]
        if not found:
            print(f"no messages in {settings.mailbox_dir}"
                  + (f" to {args.to}" if args.to else ""))
        for m in found:
            print(f"--- {m['Date'] or ''} to {m['To']}: {m['Subject']}")
            print(m.get_content().rstrip())
        return 0
    if args.command == "export-reviewed":
        from serving.reviews.export import write_parquet
        from serving.storage import Database

        url = settings.database_url
        path = url.split("///", 1)[1] if url.startswith("sqlite:///") else None
        if path is not None and not os.path.exists(path):  # no service database yet
            n = write_parquet(None, args.out)
        else:
            db = Database(url)
            try:
                with db.session() as session:
                    n = write_parquet(session, args.out)
            finally:
                db.dispose()
        print(f"wrote {n} reviewed case(s) (disputes decided rectified or overturned) to "
              f"{args.out}")
        return 0
    if args.command == "contest-analytics":
        from serving.analytics import service as analytics
        from serving.specs import SpecCache
        from serving.storage import Database

        attrs = sizes = None
        if args.attributes:
            if not args.schema:
                print("error: --attributes needs --schema (its id_column and sensitive "
                      "columns)", file=sys.stderr)
                return 2
            try:
                attrs, sizes = analytics.attributes_from_file(
                    args.attributes, args.schema, settings.pseudonym_secret)
            except (OSError, ValueError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        from serving.errors import DomainError

        db = Database(settings.database_url)
        try:
            with db.session() as session:
                figures = analytics.compute(session, SpecCache(), settings.analytics_min_cell,
                                            since=args.since, until=args.until,
                                            attributes=attrs, group_sizes=sizes)
        except DomainError as exc:  # the period's rule: the same words as the API's 422
            print(f"error: {exc.detail}", file=sys.stderr)
            return 2
        finally:
            db.dispose()
        text = analytics.to_csv(figures)
        if args.out:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {args.out}: {figures.disputes} dispute(s), counts below "
                  f"{figures.k} suppressed")
        else:
            print(text, end="")
        return 0
    if args.command == "compliance-report":
        from serving.compliance.service import run as report
        from serving.errors import DomainError

        try:
            out, html, js = report(settings, args.out, args.since, args.until, lang=args.lang)
        except DomainError as exc:  # the period's rule: the same words as the API's 422
            print(f"error: {exc.detail}", file=sys.stderr)
            return 2
        chain = "verified" if out.audit_chain.get("ok") else "BROKEN"
        print(f"wrote {html} and {js}: {out.requests_total} rights request(s), "
              f"{out.disputes['received']} dispute(s), {len(out.models)} model version(s), "
              f"audit chain {chain}")
        return 0 if out.audit_chain.get("ok") else 1
    if args.command in rights_cli.COMMANDS:
        return rights_cli.run(args, settings)
    if args.command == "purge":
        from serving.purge.service import run as purge

        print(json.dumps(purge(settings, dry_run=args.dry_run).as_dict(), indent=2))
        return 0
    if args.command in loop_cli.COMMANDS:
        return loop_cli.run(args, settings)
    if args.command in ("create-user", "list-users", "deactivate-user", "rotate-token",
                        "set-role"):
        return _staff_command(args, settings)
    if args.command == "score":
        if not args.data:
            print(NO_DATA, file=sys.stderr)
            return 2
        from serving.batch import BatchError, report_json, score_file
        from serving.batchproc import PrepareLost
        from serving.distributed import score_file_dask
        from serving.errors import ModelRejected

        try:
            if args.single_process:
                report = score_file(settings, args.data, args.schema, args.rows,
                                    chunk_rows=args.chunk_rows, resume=not args.restart)
            else:
                report = score_file_dask(settings, args.data, args.schema,
                                         workers=args.workers,
                                         scheduler_address=args.scheduler,
                                         chunk_rows=args.chunk_rows, rows=args.rows,
                                         resume=not args.restart)
        except (BatchError, ModelRejected, PrepareLost) as exc:
            print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
            return 2
        print(report_json(report))
        if settings.purge_after_batch:  # the nightly job keeps the retention schedule too
            from serving.purge.service import run as purge

            print(json.dumps({"purge": purge(settings).as_dict()}))
        # ... and carries out the erasure requests whose waiting period is over (issue 18)
        print(json.dumps({"rights_due": rights_cli.carry_out(settings)}))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
