"""jilin-pipelines: run the Jilin data-sharing pipelines, and answer lineage, export and audit questions."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from jilin_pipelines.engines import ENGINES


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def cmd_run(args: argparse.Namespace) -> int:
    from jilin_pipelines.runner import run_days

    return run_days(start=args.start, end=args.end, force=args.force, out=sys.stdout, wait_seconds=args.wait)


def _catalogue_entry(name: str):
    """A catalogue dataset by its id (``traffic_police.violations``) or its UI asset key
    (``traffic_police/standardised/violations``)."""
    from jilin_pipelines.catalogue import catalogue

    for e in catalogue().entries:
        if name in (e.id, f"{e.department.department}/standardised/{e.dataset.name}",
                    f"{e.department.department}/raw/{e.dataset.name}"):
            return e
    raise KeyError(f"no dataset {name!r}; known: {', '.join(e.id for e in catalogue().entries)}")


def cmd_holds(args: argparse.Namespace) -> int:
    """The held partitions (and with --all the released ones too)."""
    from jilin_pipelines.db import base_engine
    from jilin_pipelines.quality.holds import holds
    from jilin_pipelines.settings import Settings

    found = holds(base_engine(Settings.from_env().base_db_url), args.start, args.end, active_only=not args.all)
    print(f"{len(found)} {'held or released' if args.all else 'held'} partition(s)")
    for h in found:
        print(f"  {h.describe()} ({h.held_rows} rows held, since {h.held_at})")
    return 0


def cmd_fairness(args: argparse.Namespace) -> int:
    """The fairness audit of a day (default: the newest audited): per scenario its flagged groups in words, or with
    --groups every group of the window."""
    import pandas as pd

    from jilin_pipelines.db import base_engine
    from jilin_pipelines.fairness import PROVINCE, describe, stored
    from jilin_pipelines.fairness.stats import rolling_window
    from jilin_pipelines.scenarios import scenario
    from jilin_pipelines.settings import Settings

    try:
        name = scenario(args.scenario).name if args.scenario else None
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    figures = stored(base_engine(Settings.from_env().base_db_url), name)
    days = sorted(pd.to_datetime(figures["partition"]).dt.date.unique())
    day = args.day or (days[-1] if days else None)
    if day is None or day not in days:
        print(f"error: no fairness audit{' of ' + name if name else ''} for {day or 'any day'}; "
              "`jilin-pipelines run` audits every scenario's days", file=sys.stderr)
        return 2
    figures = figures[pd.to_datetime(figures["partition"]).dt.date == day]
    for scenario_name, rows in figures.groupby("scenario", sort=True):
        flagged = rows[rows["flagged"].astype(bool)]
        summary = rolling_window(rows)
        print(f"{scenario_name} {day}: {summary.n} decisions in {summary.window}, "
              f"{len(flagged) or 'no'} group(s) flagged")
        for _, r in flagged.iterrows():
            print(f"  flagged: {describe(r)}")
        if args.groups:
            for _, r in summary.rows[summary.rows["dimension"] != PROVINCE].iterrows():
                print(f"  {describe(r)}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    """Release a held partition after review, then bring the days from it on current: the partition is
    standardised again (its unblocked rows flow), the day merged, and every later day's scenarios re-decided."""
    from jilin_pipelines.db import base_engine
    from jilin_pipelines.quality.holds import ReleaseError, release
    from jilin_pipelines.runner import run_days
    from jilin_pipelines.settings import Settings

    try:
        entry = _catalogue_entry(args.dataset)
        hold = release(base_engine(Settings.from_env().base_db_url), entry.id, args.day, args.reason,
                       provider=args.provider or "")
    except (KeyError, ReleaseError) as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    print(f"released {hold.describe()}")
    if args.no_run:
        print("not run (--no-run): `jilin-pipelines run` brings the days from it on current")
        return 0
    return run_days(start=args.day, end=None, force=False, out=sys.stdout, wait_seconds=args.wait)


def _gap(text: str) -> tuple[str, tuple[str, ...]]:
    from jilin_tools.sample.generator import DEFAULT_GAP_DATASETS

    county, _, datasets = text.partition(":")
    return county.strip(), tuple(d.strip() for d in datasets.split(",") if d.strip()) or DEFAULT_GAP_DATASETS


def cmd_sample(args: argparse.Namespace) -> int:
    from jilin_tools.sample import generate

    started = time.perf_counter()
    kwargs = {"start": args.start, "days": args.days, "seed": args.seed}
    if args.scale is not None:
        kwargs["scale"] = args.scale
    if args.state is not None:
        kwargs["state"], kwargs["daily_share"] = args.state, args.daily_share
    if args.gap is not None:
        kwargs["gap"] = args.gap
    if args.providers is not None:
        kwargs["providers"] = args.providers
    try:
            summary = generate(Path(args.out), progress=lambda msg: print(msg, flush=True), **kwargs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} in {time.perf_counter() - started:.1f} s: {summary}")
    return 0


def cmd_serve_sources(args: argparse.Namespace) -> int:
    from jilin_tools.api_server import serve

    serve(
        Path(args.root),
        host=args.host,
        port=args.port,
        token=args.token,
        rate_limit_per_second=args.rate_limit,
        fail_rate=args.fail_rate,
    )
    return 0


def cmd_lineage_page(args: argparse.Namespace) -> int:
    from jilin_pipelines.lineage import write_lineage_page
    from jilin_pipelines.settings import Settings

    print(write_lineage_page(Settings.from_env().data_dir, Path(args.out) if args.out else None))
    return 0


def cmd_reports(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from jilin_pipelines.lineage.page import refresh_lineage_page
    from jilin_pipelines.reports import serve
    from jilin_pipelines.settings import Settings

    settings = Settings.from_env()
    configured = urlsplit(settings.reports_url)
    serve(settings.reports_dir, host=args.host or configured.hostname or "127.0.0.1",
          port=args.port if args.port is not None else configured.port or 3001,
          refresh=lambda name: refresh_lineage_page(settings.data_dir) if name == "lineage.html" else None)
    return 0


def cmd_bench_providers(args: argparse.Namespace) -> int:
    from jilin_tools.bench.providers import main as providers_main

    return providers_main(args, out=sys.stdout)


def cmd_bench(args: argparse.Namespace) -> int:
    from jilin_tools.bench import main as bench_main

    return bench_main(args, out=sys.stdout)


def _dagster_audit_heads() -> list[tuple[str, int, str]]:
    """The newest audit-log head the Dagster event log holds (the scenario assets' ``audit_head`` metadata), as an
    anchor outside the base database; none when there is no instance."""
    import os

    if not os.environ.get("DAGSTER_HOME"):
        return []
    try:
        import dagster as dg

        from jilin_pipelines.scenarios import SCENARIOS

        best = None
        with dg.DagsterInstance.get() as instance:
            for s in SCENARIOS:
                records = instance.fetch_materializations(dg.AssetKey(["scenario", s.output]), limit=1).records
                value = records[0].asset_materialization.metadata.get("audit_head") if records else None
                head = getattr(value, "value", None)
                if isinstance(head, dict) and (best is None or head["id"] > best[1]):
                    best = ("the Dagster event log", int(head["id"]), head["entry_hash"])
        return [best] if best else []
    except Exception:  # noqa: BLE001 - an instance that cannot be read is no anchor, and verify says what it checked
        return []


def cmd_audit_verify(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from jilin_pipelines.privacy.audit import AuditError, verify
    from jilin_pipelines.settings import Settings

    url = args.db_url or Settings.from_env().base_db_url
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not parsed.database.startswith(("file:", ":")):
        if not Path(parsed.database).is_file():  # verifying must never create an empty database
            print(f"error: no database at {parsed.database}", file=sys.stderr)
            return 2
    engine = sa.create_engine(url)
    try:
        # the Dagster event log anchors the configured base database (not one named by --db-url)
        result = verify(engine, anchor=args.anchor, heads=[] if args.db_url else _dagster_audit_heads())
    except AuditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(result, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def cmd_lineage(args: argparse.Namespace) -> int:
    """Answer a lineage question from the base database; personal values masked unless --reveal with a reason,
    which the exchange audit log records."""
    import getpass

    import sqlalchemy as sa

    from jilin_pipelines.privacy.redaction import mask_free_text
    from jilin_pipelines.serving import lineage as queries
    from jilin_pipelines.settings import Settings

    if args.lineage_command == "graph":
        try:
            lines = queries.graph(args.scenario)
        except KeyError as exc:
            print(f"error: {exc.args[0]}", file=sys.stderr)
            return 2
        print("\n".join(lines))
        return 0
    if args.reveal and not (args.reason or "").strip():
        print("error: --reveal needs --reason (it is recorded in the exchange audit log)", file=sys.stderr)
        return 2
    show = (lambda text: text) if args.reveal else mask_free_text
    url = args.db_url or Settings.from_env().base_db_url
    engine = sa.create_engine(url)
    try:
        if args.lineage_command == "decision":
            found = queries.decision(engine, args.scenario, args.id, args.day)
            if found.decisions.empty:
                on = f" on {args.day}" if args.day else ""
                print(show(f"no decision {args.id} in {found.scenario.name}{on}"), file=sys.stderr)
                return 1
            print(f"{found.scenario.name} ({found.scenario.title}), purpose {found.scenario.purpose}")
            for row in found.decisions.to_dict("records"):
                print(show("decision: " + ", ".join(f"{k}={v}" for k, v in row.items())))
            from jilin_pipelines.quality.holds import decided_without
            from jilin_pipelines.scenarios.store import day_column

            for day in sorted(set(found.decisions[day_column(found.scenario)])):
                for dataset, held_day, reason in decided_without(engine, found.scenario.name, day):
                    print(show(f"decided on {day} without the held delivery {dataset} {held_day}: {reason}"))
            print(f"evidence ({len(found.evidence)} delivery rows):")
            for line in queries.evidence_text(found.evidence):
                print(show(line))
            records = len(found.evidence)
        else:
            used = queries.person(engine, args.id_number)
            print(show(f"person {args.id_number}: {len(used)} decisions used their data (one line each: a "
                       f"decision re-made on another day is another decision)"))
            for r in used.itertuples():
                print(show(f"  {r.partition}  {r.scenario} (purpose {r.purpose})  decision {r.decision_id}: "
                           f"{r.used_for} from {r.base_tables} <- {r.deliveries}  run {r.run_id}"))
            records = len(used)
        if args.reveal:
            from jilin_pipelines.privacy.audit import AuditEntry, record

            record(engine, [AuditEntry(consumer=f"cli:{getpass.getuser()}", purpose=f"reveal: {args.reason.strip()}",
                                       dataset="base.scenario_evidence", fields=["person_id", "decision_id"],
                                       record_count=records)])
        return 0
    except (KeyError, ValueError) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def cmd_export(args: argparse.Namespace) -> int:
    """A scenario's decisions of one day as a pseudonymised Parquet file for a consumer, entered in the audit log."""
    import sqlalchemy as sa

    from jilin_pipelines.serving.export import ExportRefused, export
    from jilin_pipelines.privacy.pseudonym import PseudonymKeyError, pseudonym_key
    from jilin_pipelines.scenarios import scenario
    from jilin_pipelines.settings import Settings

    settings = Settings.from_env()
    try:
        s = scenario(args.scenario)
        key = pseudonym_key(settings)
    except (KeyError, PseudonymKeyError) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
    engine = sa.create_engine(args.db_url or settings.base_db_url)
    try:
        done = export(engine, s, args.day, Path(args.out), consumer=args.consumer, key=key)
    except ExportRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    hidden = ", ".join(done.pseudonymised) or "none"
    print(f"wrote {done.rows} decisions of {s.name} for {args.day} to {done.path} (pseudonymised: {hidden})")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jilin-pipelines", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    _operations(sub)
    _inquiries(sub)
    _tooling(sub)
    return p


def _operations(sub) -> None:
    """Running the pipeline and its operators' commands: run, holds, fairness, release, reports."""
    run = sub.add_parser("run", help="materialise every asset for every day of the sources through Dagster")
    run.add_argument("--start", type=_day, help="first day (default: the first day in the sources)")
    run.add_argument("--end", type=_day, help="last day (default: the last day in the sources)")
    run.add_argument("--force", action="store_true", help="re-run days whose sources did not change")
    run.add_argument("--wait", type=float, default=6 * 3600,
                     help="seconds to wait for another run on the same data directory (default 6 h)")
    run.set_defaults(func=cmd_run)

    held = sub.add_parser("holds", help="the held partitions: datasets and days kept out of the base, and why")
    held.add_argument("--start", type=_day, help="first day")
    held.add_argument("--end", type=_day, help="last day")
    held.add_argument("--all", action="store_true", help="the released ones too")
    held.set_defaults(func=cmd_holds)

    fair = sub.add_parser("fairness", help="the fairness audit of a day: the groups flagged per scenario, and why")
    fair.add_argument("scenario", nargs="?", help="one scenario (its name, table, asset key or group); default all")
    fair.add_argument("--day", type=_day, help="the day (default: the newest audited)")
    fair.add_argument("--groups", action="store_true", help="every group of the window, not only the flagged")
    fair.set_defaults(func=cmd_fairness)

    rel = sub.add_parser("release", help="release a held partition after review and re-run the days from it on")
    rel.add_argument("dataset", help="the dataset (traffic_police.violations, or its asset key as the UI shows it)")
    rel.add_argument("--day", type=_day, required=True, help="the held partition's day")
    rel.add_argument("--reason", required=True, help="what the review found (recorded with the release)")
    rel.add_argument("--provider", default=None,
                     help="of a dataset delivered by many providers: the provider whose held delivery is released")
    rel.add_argument("--no-run", action="store_true", help="only record the release")
    rel.add_argument("--wait", type=float, default=6 * 3600, help="seconds to wait for another run")
    rel.set_defaults(func=cmd_release)

    rep = sub.add_parser("reports", help="serve the HTML reports (quality, fairness, lineage) at JILIN_REPORTS_URL")
    rep.add_argument("--host", default=None, help="the address to listen on (default: JILIN_REPORTS_URL's host)")
    rep.add_argument("--port", type=int, default=None, help="the port (default: JILIN_REPORTS_URL's, 3001)")
    rep.set_defaults(func=cmd_reports)


def _inquiries(sub) -> None:
    """Asking the decisions: lineage, export, audit."""
    lineage = sub.add_parser("lineage", help="where a decision came from, whose data it used, what a scenario reads")
    lsub = lineage.add_subparsers(dest="lineage_command", required=True)
    for name, text in (("decision", "a decision's evidence back to the delivery rows"),
                       ("person", "every scenario decision that used a person's data, when and for which purpose"),
                       ("graph", "the dataset graph upstream of a scenario")):
        q = lsub.add_parser(name, help=text)
        if name in ("decision", "graph"):
            q.add_argument("scenario", help="the scenario (or its output table)")
        if name == "decision":
            q.add_argument("id", help="the decision's key, its columns joined by / (e.g. an application ID)")
            q.add_argument("--day", type=_day, help="only the decision of this partition")
        if name == "person":
            q.add_argument("id_number", help="the person's resident ID number")
        if name != "graph":
            q.add_argument("--db-url", help="the base database (default: JILIN_BASE_DB_URL / the embedded SQLite)")
            q.add_argument("--reveal", action="store_true", help="show personal values unmasked (needs --reason)")
            q.add_argument("--reason", help="why the values must be revealed; recorded in the exchange audit log")
        q.set_defaults(func=cmd_lineage)
    page = lsub.add_parser("page", help="the lineage page: datasets, jobs and columns of the OpenLineage events")
    page.add_argument("--out", default=None, help="the HTML file (default: <data>/reports/lineage.html)")
    page.set_defaults(func=cmd_lineage_page)
    exp = sub.add_parser("export", help="a scenario's decisions of a day as a pseudonymised Parquet file (audited)")
    exp.add_argument("scenario", help="the scenario (or its output table)")
    exp.add_argument("--day", type=_day, required=True, help="the partition day")
    exp.add_argument("--out", required=True, help="the Parquet file to write")
    exp.add_argument("--consumer", required=True, help="who receives it (recorded in the exchange audit log)")
    exp.add_argument("--db-url", help="the base database (default: JILIN_BASE_DB_URL / the embedded SQLite)")
    exp.set_defaults(func=cmd_export)
    audit = sub.add_parser("audit", help="the exchange audit log").add_subparsers(dest="audit_command", required=True)
    verify = audit.add_parser("verify", help="check the audit log's hash chain; exit 1 naming the first broken entry")
    verify.add_argument("--db-url", default=None, help="the base database (default: JILIN_BASE_DB_URL)")
    verify.add_argument("--anchor", default=None, help="an entry_hash known from elsewhere that must be in the chain")
    verify.set_defaults(func=cmd_audit_verify)


def _tooling(sub) -> None:
    """The tooling beside the product (``jilin_tools``): sample, serve-sources, bench-providers, bench."""
    sample = sub.add_parser("sample", help="write a deterministic sample sources directory with known problems")
    sample.add_argument("--out", required=True, help="the sources directory to write")
    sample.add_argument("--start", type=_day, default=date(2025, 6, 2), help="first day (default 2025-06-02)")
    sample.add_argument("--days", type=int, default=7, help="number of days (default 7)")
    sample.add_argument("--scale", type=int, default=None, help="about this many delivered records per day")
    sample.add_argument("--seed", type=int, default=20250602, help="random seed (default 20250602)")
    sample.add_argument("--state", type=int, default=None,
                        help="a long history: an initial state of about this many records, then daily increments "
                             "(instead of --scale)")
    sample.add_argument("--daily-share", type=float, default=0.01,
                        help="with --state: new and changed records, and event records, a day, each as a share of "
                             "the state (default 0.01)")
    sample.add_argument("--gap", type=_gap, default=None, metavar="COUNTY[:DATASET,...]",
                        help="a data gap: the datasets (default social_security.insured_persons and "
                             "benefit_payments) deliver nothing about the people of this county (a GB/T 2260 code); "
                             "the fairness audit should flag it")
    sample.add_argument("--providers", choices=["counties"], default=None,
                        help="a multi-provider layout: Jilin's 9 cities and 60 counties deliver the datasets local by "
                             "nature, each in its own folder, with the registry OUT/providers.yaml")
    sample.set_defaults(func=cmd_sample)

    serve = sub.add_parser("serve-sources", help="serve a sources directory as the departments' HTTP API (SPEC §6)")
    serve.add_argument("--root", required=True, help="the sources directory")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--token", required=True, help="the bearer token callers must present")
    serve.add_argument("--rate-limit", type=float, default=None, help="requests per second before answering 429")
    serve.add_argument("--fail-rate", type=float, default=0.0, help="share of requests answered with a 5xx")
    serve.set_defaults(func=cmd_serve_sources)

    many = sub.add_parser("bench-providers", help="time one day of one dataset delivered by one provider, then by "
                                                  "many: what a provider costs beyond its rows")
    many.add_argument("--providers", type=int, default=1000, help="how many providers (default 1000)")
    many.add_argument("--rows-per-provider", type=int, default=20, help="about this many rows each (default 20)")
    many.add_argument("--seed", type=int, default=20250602, help="random seed of the generator")
    many.add_argument("--work", default=None, help="scratch directory (default: a temporary one, removed afterwards)")
    many.set_defaults(func=cmd_bench_providers)

    bench = sub.add_parser("bench", help="time the copy-only floor, a naive peer and our pipeline on about N generated records")
    bench.add_argument("--rows", type=int, required=True, help="about this many delivered records over all datasets")
    bench.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite", help="the database all three paths load")
    bench.add_argument("--days", type=int, default=None,
                       help="a history: an initial state of about --rows records, then days-1 daily increments, each "
                            "day timed (default: about --rows records over 2 days)")
    bench.add_argument("--seed", type=int, default=20250602, help="random seed of the generator")
    bench.add_argument("--work", default=None, help="scratch directory (default: <data dir>/bench/work, removed afterwards)")
    bench.add_argument("--pg-url", default=None, help="PostgreSQL server for --db postgresql (a fresh schema is used)")
    bench.add_argument("--keep", action="store_true", help="keep the scratch directory (and PostgreSQL schema)")
    bench.add_argument("--engine", choices=ENGINES, default=None,
                       help="where ours runs the set-based core of the merge and the scenarios (default: JILIN_ENGINE, else embedded)")
    bench.set_defaults(func=cmd_bench)

def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, as command-line tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
