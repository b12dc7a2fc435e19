"""Raw landing assets, one per catalogue dataset: ``<department>/raw/<dataset>``, daily-partitioned."""


from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from jilin_pipelines.defs.keys import raw_key, source_key
from jilin_pipelines.catalogue import Entry, catalogue
from jilin_pipelines.defs.openlineage_run import lineage_run
from jilin_pipelines.defs.partitions import DAILY, PER_DAY, TIMEZONE
from jilin_pipelines.defs.resources import PipelineSettings
from jilin_pipelines.lineage.datasets import raw_ref, source_ref
from jilin_pipelines.memory import release_unused
from jilin_pipelines.raw import land_day, late_providers, newest_landed_day, provider_counts
from jilin_pipelines.sources import DeliveryError
from jilin_pipelines.privacy.redaction import mask_free_text

MAX_WARNINGS_LOGGED = 20
FORMAT_KINDS = {"csv": "csv", "xlsx": "excel", "xml": "xml", "jsonl": "json", "api": "api", "frontdb": "sql"}


def source_spec(entry: Entry) -> dg.AssetSpec:
    """The department's delivery itself, an external asset (the department, not we, produces it): its fields as
    the catalogue names them, so that column lineage in the UI reaches the delivered source fields."""
    ds = entry.dataset
    return dg.AssetSpec(
        key=source_key(entry),
        group_name=f"{entry.department.department}_raw",
        kinds={FORMAT_KINDS[ds.format.kind]},
        description=f"{ds.title}, as {entry.department.name} delivers it ({ds.format.kind}, daily at "
                    f"{ds.update_time} Asia/Shanghai). Produced outside the platform.",
        metadata={
            **catalogue_metadata(entry),
            "dagster/column_schema": dg.TableSchema(columns=[
                dg.TableColumn(f.source, "string", description=f.title or f.name) for f in ds.fields]),
        },
        tags={"layer": "source", "department": entry.department.department},
    )


#: How long after the catalogue's update time the landing may take before the dataset counts as stale.
FRESHNESS_GRACE = timedelta(hours=1)
#: The update cycle's cron day fields and the window (before the deadline) a landing must fall in.
_CYCLES = {
    "daily": ("* * *", timedelta(days=1)),
    "weekly": ("* * 1", timedelta(days=7)),
    "monthly": ("1 * *", timedelta(days=28)),  # at most the shortest month: the policy's bound
}


def landing_time(entry: Entry) -> str:
    """When the dataset is landed each day, "HH:MM" Asia/Shanghai: its department's schedule runs once every
    delivery of the department is due, at the latest ``update_time`` of its datasets (defs/automation.py)."""
    department = entry.department.department
    return max([entry.dataset.update_time] + [e.dataset.update_time for e in catalogue().entries
                                              if e.department.department == department])


def freshness_policy(entry: Entry) -> dg.FreshnessPolicy:
    """Fresh when the dataset was landed in its update cycle before the deadline: the catalogue's update time
    at which it is landed (``landing_time``: its own, or its department's later one) plus FRESHNESS_GRACE,
    Asia/Shanghai. A department whose landing did not run (a stopped schedule, a failed run) shows as stale."""
    day_fields, window = _CYCLES[entry.dataset.update_cycle]
    hour, minute = (int(x) for x in landing_time(entry).split(":"))
    due = (hour * 60 + minute + int(FRESHNESS_GRACE.total_seconds()) // 60) % (24 * 60)
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"{due % 60} {due // 60} {day_fields}", lower_bound_delta=window, timezone=TIMEZONE
    )


NEWEST_DAY_CHECK = "newest_day"


def newest_day_check(entry: Entry) -> dg.AssetCheckSpec:
    """The data's freshness, by the day it is about: Dagster's freshness policy measures when the landing ran, so
    landing an old day today looks fresh to it. Judged over the asset, not a day: unpartitioned."""
    return dg.AssetCheckSpec(
        NEWEST_DAY_CHECK, asset=raw_key(entry),
        description=f"the newest delivered day landed is at most one {entry.dataset.update_cycle} update cycle "
                    "behind the latest complete day (Asia/Shanghai)",
    )


def newest_day_result(entry: Entry, settings, today: date, now: datetime | None = None) -> dg.AssetCheckResult:
    """How far the newest landed delivery is behind yesterday (``today`` in Asia/Shanghai), against the cycle; of a
    dataset of many providers, also each provider against its own update time (``raw.late_providers``)."""
    newest = newest_landed_day(entry, settings)
    latest = today - timedelta(days=1)
    allowed = _CYCLES[entry.dataset.update_cycle][1].days - 1
    behind = (latest - newest).days if newest else None
    now = now or datetime.now(ZoneInfo(TIMEZONE))
    if now.date() != today:  # judged as of the end of ``today``
        now = datetime.combine(today, datetime.max.time(), ZoneInfo(TIMEZONE))
    late = late_providers(entry, settings, now, FRESHNESS_GRACE, allowed) if settings.registry().multi(entry.id) \
        else []
    fresh = behind is not None and behind <= allowed
    description = (f"newest delivered day {newest}: {behind} day(s) behind {latest}" if newest
                   else f"no delivered day landed yet (latest complete day {latest})")
    if late:
        description += f"; {len(late)} provider(s) late: " + ", ".join(
            f"{code} (newest {have or 'none'}, due {due})" for code, have, due in late[:10]) + (
            f" and {len(late) - 10} more" if len(late) > 10 else "")
    return dg.AssetCheckResult(
        check_name=NEWEST_DAY_CHECK,
        passed=fresh and not late,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"newest_day": newest.isoformat() if newest else "none landed", "latest_complete_day":
                  latest.isoformat(), "days_behind": behind if behind is not None else -1, "allowed_days": allowed,
                  **({"providers_late": len(late), "providers_late_codes": ", ".join(c for c, _, _ in late[:50])
                      or "none"} if settings.registry().multi(entry.id) else {})},
        description=description,
    )


def catalogue_metadata(entry: Entry) -> dict:
    ds = entry.dataset
    return {
        "resource_code": ds.resource_code,
        "title": ds.title,
        "provider": entry.department.provider,
        "format": ds.format.kind,
        "update_cycle": ds.update_cycle,
        "update_time": f"{ds.update_time} Asia/Shanghai",
        "sharing_class": ds.sharing_class.value,
        "legal_basis": ds.legal_basis,
        "key": ", ".join(ds.key),
    }


def source_schema(entry: Entry) -> dg.TableSchema:
    """The delivery's columns as delivered (all text), plus the landing's bookkeeping columns."""
    columns = [
        dg.TableColumn(f.source, "string", description=f"{f.title or f.name} → {f.name}" + (" (personal)" if f.personal else ""))
        for f in entry.dataset.fields
    ]
    columns += [
        dg.TableColumn("_source_row", "int64", description="1-based position of the row in the delivery"),
        dg.TableColumn("_error", "string", description="why the row could not be parsed (null when it parsed)"),
        dg.TableColumn("_raw", "string", description="the raw text of an unparseable row"),
    ]
    return dg.TableSchema(columns=columns)


def raw_asset(entry: Entry) -> dg.AssetsDefinition:
    ds = entry.dataset

    @dg.asset(
        key=raw_key(entry),
        partitions_def=DAILY,
        backfill_policy=PER_DAY,
        # a history with a last day (the committed sample's week) is never fresh: no policy that would say so
        freshness_policy=freshness_policy(entry) if DAILY.end is None else None,
        check_specs=[newest_day_check(entry)],
        group_name=f"{entry.department.department}_raw",
        kinds={"parquet", FORMAT_KINDS[ds.format.kind]},
        description=f"{ds.title} — {ds.summary}\n\nLanded as delivered, row for row (format: {ds.format.kind}).",
        deps=[source_key(entry)],
        metadata={
            **catalogue_metadata(entry),
            "dagster/column_schema": source_schema(entry),
            "dagster/column_lineage": dg.TableColumnLineage(deps_by_column={
                f.source: [dg.TableColumnDep(asset_key=source_key(entry), column_name=f.source)]
                for f in ds.fields
            }),
        },
        tags={"layer": "raw", "department": entry.department.department},
    )
    def _raw(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dg.MaterializeResult:
        day = date.fromisoformat(context.partition_key)
        release_unused()  # what earlier steps of this process freed, back to the system first
        s = settings.get()
        with lineage_run(context, settings, inputs=[source_ref(entry, s)], outputs=[raw_ref(entry)]) as run:
            try:
                landing = land_day(entry, day, s)
            except DeliveryError as exc:  # a source unavailable: stored and shown masked, like every message
                raise dg.Failure(mask_free_text(str(exc))) from None
            facts = landing.summary()
            source = source_ref(entry, s, sha256=facts["source_sha256"])
            run.inputs(source).outputs(raw_ref(entry, rows=facts["landed_rows"], source=source))
            warnings = facts.pop("warnings")
            by_provider = provider_counts(facts)
            facts.pop("providers", None)  # a day of many providers: its figures, not a thousand entries
            for w in warnings[:MAX_WARNINGS_LOGGED]:
                context.log.warning(w)
            if len(warnings) > MAX_WARNINGS_LOGGED:
                context.log.warning(f"... and {len(warnings) - MAX_WARNINGS_LOGGED} more warnings (see metadata)")
            if not landing.delivered:
                context.log.info(f"{entry.id} {day}: no delivery")
            metadata = {
                "dagster/row_count": facts["delivered_rows"],
                **{k: v for k, v in facts.items() if v is not None},
                **by_provider,
                "status": "delivered" if landing.delivered else "no delivery",
                "warnings": dg.MetadataValue.md("\n".join(f"- {w}" for w in warnings) or "none"),
                "warning_count": len(warnings),
                "landing_path": dg.MetadataValue.path(facts["landing_path"]),
                "openlineage_run_id": run.run_id,
            }
            return dg.MaterializeResult(metadata=metadata, check_results=[
                newest_day_result(entry, s, datetime.now(ZoneInfo(TIMEZONE)).date())])

    return _raw
