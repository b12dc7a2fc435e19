"""Standardised assets, one per catalogue dataset: ``<department>/standardised/<dataset>``, with one asset
check per GB/T 36344 dimension its rules belong to (per-expectation results in the check's metadata), a
blocking check on the share of blocked rows, and a timeliness check."""

from collections.abc import Iterator
from datetime import date

import dagster as dg

from jilin_pipelines.catalogue import Entry
from jilin_pipelines.defs.openlineage_run import lineage_run
from jilin_pipelines.defs.failures import refusals_as_failures
from jilin_pipelines.defs.partitions import DAILY, PER_DAY, DayCheckResult, daily_check
from jilin_pipelines.defs.keys import SCORECARD_KEY, raw_key, standardised_key
from jilin_pipelines.defs.resources import PipelineSettings
from jilin_pipelines.lineage import DatasetRef
from jilin_pipelines.lineage.datasets import (
    quality_assertions,
    quality_results_ref,
    quarantine_ref,
    raw_ref,
    scorecard_ref,
    standardised_ref,
)
from jilin_pipelines.memory import release_unused
from jilin_pipelines.quality.layout import standard_schema
from jilin_pipelines.quality.masking import shown
from jilin_pipelines.quality import holds
from jilin_pipelines.quality.day import LAYER, StandardisedDay, score_day, standardise_day
from jilin_pipelines.quality.scorecard import COLUMNS as SCORECARD_COLUMNS
from jilin_pipelines.quality.scorecard import render_markdown
from jilin_pipelines.quality.rules import declare


class ReleaseConfig(dg.Config):
    """Set ``release_reason`` (what the review found) in the launchpad to release a held partition: its unblocked
    rows then flow into the base (``jilin-pipelines release`` does the same from the command line)."""

    release_reason: str = ""
    #: a dataset of many providers: release only this provider's held delivery (empty: every held one)
    release_provider: str = ""
BLOCKED_SHARE_CHECK = "blocked_share"
MAX_HELD_LOGGED = 20
HELD_CHECK = "held"
TIMELINESS_CHECK = "timeliness"


def column_lineage(entry: Entry) -> dg.TableColumnLineage:
    source = raw_key(entry)
    deps = {f.name: [dg.TableColumnDep(asset_key=source, column_name=f.source)] for f in entry.dataset.fields}
    for f in entry.dataset.fields:
        if f.standard and f.standard.value == "party_id" and f.id_type_field is None:
            deps[f.name + "_type"] = [dg.TableColumnDep(asset_key=source, column_name=f.source)]
    return dg.TableColumnLineage(deps_by_column=deps)


def table_schema(entry: Entry) -> dg.TableSchema:
    descriptions = {f.name: f"{f.title} (from {f.source})" + (" — personal" if f.personal else "")
                    for f in entry.dataset.fields}
    return dg.TableSchema(
        columns=[dg.TableColumn(c.name, str(c.type), description=descriptions.get(c.name, ""))
                 for c in standard_schema(entry.dataset)]
    )


def dimension_checks(entry: Entry) -> dict[str, list]:
    """The dataset's quality rules grouped by GB/T 36344 dimension: one asset check per dimension."""
    grouped: dict[str, list] = {}
    for rule in declare(entry.dataset):
        grouped.setdefault(rule.dimension.value, []).append(rule)
    return grouped


def check_specs(entry: Entry, by_dimension: dict[str, list]) -> list[dg.AssetCheckSpec]:
    """The asset's daily checks: one per GB/T 36344 dimension of its rules, the blocked share, the hold and the
    timeliness of the delivery."""
    ds = entry.dataset
    key = standardised_key(entry)
    specs = [
        daily_check(
            dimension, asset=key,
            description=f"GB/T 36344 {dimension}: " + "; ".join(f"{r.description} [{r.severity.value}]" for r in rules),
        )
        for dimension, rules in by_dimension.items()
    ]
    specs.append(daily_check(
        BLOCKED_SHARE_CHECK, asset=key,
        description=f"at most {ds.max_blocked_share:.0%} of the delivered rows blocked, or fewer than "
                    f"{ds.min_blocked_rows} rows; above both, the partition is held",
    ))
    specs.append(daily_check(
        HELD_CHECK, asset=key,
        description="the partition flows into the base: not held (an unreadable delivery, or one over its "
                    "blocking limit, is held until re-delivered or released)",
    ))
    specs.append(daily_check(
        TIMELINESS_CHECK, asset=key, description=f"GB/T 36344 timeliness: the {ds.update_cycle} delivery is there"
    ))
    return specs


def standardised_asset(entry: Entry) -> dg.AssetsDefinition:
    """The dataset's standardised asset: each partition is the quality layer's day (``standardise_day``), reported
    as the materialisation's metadata, its check results and its OpenLineage run."""
    ds = entry.dataset
    by_dimension = dimension_checks(entry)

    @dg.asset(
        key=standardised_key(entry),
        deps=[raw_key(entry)],
        partitions_def=DAILY,
        backfill_policy=PER_DAY,
        group_name=f"{entry.department.department}_standardised",
        kinds={"parquet", "pandas"},
        check_specs=check_specs(entry, by_dimension),
        description=f"{ds.title}: the catalogue's standard fields, the national standards applied, "
                    f"blocked rows in the quarantine, de-duplicated within the delivery (newest wins). "
                    f"A delivery that cannot be read, or whose blocked rows are over "
                    f"{ds.max_blocked_share:.0%} and at least {ds.min_blocked_rows}, is held: none of its rows "
                    f"reach the base until re-delivered or released (materialise with `release_reason`).",
        metadata={"dagster/column_schema": table_schema(entry), "dagster/column_lineage": column_lineage(entry)},
        tags={"layer": LAYER, "department": entry.department.department},
    )
    def _standardised(context: dg.AssetExecutionContext, config: ReleaseConfig, settings: PipelineSettings):
        day = date.fromisoformat(context.partition_key)
        release_unused()  # what earlier steps of this process freed, back to the system first
        s = settings.get()
        with lineage_run(context, settings, inputs=[raw_ref(entry)],
                         outputs=[standardised_ref(entry), quarantine_ref(), quality_results_ref(entry)]) as run:
            with refusals_as_failures():
                result = standardise_day(entry, day, s, settings.base_engine(), release_reason=config.release_reason,
                                         release_provider=config.release_provider or None)
            run.outputs(*_lineage_outputs(entry, result))
            _log_holds(context, entry, day, result)
            yield dg.MaterializeResult(metadata=_materialisation_metadata(result, run.run_id))
            yield from _dimension_results(entry, by_dimension, result)
            yield _blocked_share_result(entry, result)
            yield _held_result(result)
            yield _timeliness_result(entry, result)

    return _standardised


def _lineage_outputs(entry: Entry, result: StandardisedDay) -> list[DatasetRef]:
    """The day's outputs for the OpenLineage run: the partition with its row count and quality assertions, the
    quarantine rows, the quality results."""
    outcome, stats = result.outcome, result.outcome.stats
    return [
        standardised_ref(entry, rows=stats["standardised_rows"], assertions=quality_assertions(
            entry, outcome.results, blocked_share=outcome.blocked_share, held=result.hold is not None,
            delivered=result.delivered)),
        quarantine_ref(rows=stats["quarantined_rows"]),
        quality_results_ref(entry),
    ]


def _log_holds(context: dg.AssetExecutionContext, entry: Entry, day: date, result: StandardisedDay) -> None:
    """A warning for a held partition, and one per provider held alone (at most ``MAX_HELD_LOGGED``)."""
    hold, alone = result.hold, result.provider_holds
    if hold is not None:
        context.log.warning(f"{entry.id} {day}: HELD — {hold.kind}: {hold.reason}; none of its rows reach "
                            f"the base until the department re-delivers it or an engineer releases it")
    for h in alone[:MAX_HELD_LOGGED]:
        context.log.warning(f"{h.label} {day}: HELD — {h.kind}: {h.reason}; the other providers flow")
    if len(alone) > MAX_HELD_LOGGED:
        context.log.warning(f"... and {len(alone) - MAX_HELD_LOGGED} more providers held (see metadata)")


def _materialisation_metadata(result: StandardisedDay, run_id: str) -> dict:
    """The materialisation's metadata: the verdict, the quality layer's counts, and a pass rate per dimension."""
    outcome, stats, hold, alone = result.outcome, result.outcome.stats, result.hold, result.provider_holds
    return {
        "dagster/row_count": stats["standardised_rows"],
        "status": "held" if hold else "providers held" if alone else (
            "released" if result.released else "flows"),
        "held_reason": f"{hold.kind}: {hold.reason}" if hold else "",
        **({"providers": len(stats["providers"]), "providers_held": len(alone),
            "providers_held_codes": ", ".join(h.provider for h in alone[:50]) or "none"}
           if "providers" in stats else {}),
        **{k: v for k, v in stats.items() if not isinstance(v, dict)},
        "repairs": dg.MetadataValue.json(stats["repairs"]),
        "failed_rows_by_dimension": dg.MetadataValue.json(stats["failed_rows_by_dimension"]),
        "blocked_share": round(outcome.blocked_share, 4),
        # a number per dimension and partition: Dagster's plots draw them day by day
        **{f"pass_rate_{d}": round(1 - n / stats["checked_rows"], 4) if stats["checked_rows"] else 1.0
           for d, n in stats["failed_rows_by_dimension"].items()},
        "path": dg.MetadataValue.path(str(result.path)),
        "openlineage_run_id": run_id,
    }


def _dimension_results(entry: Entry, by_dimension: dict[str, list],
                       result: StandardisedDay) -> Iterator[DayCheckResult]:
    """One warning check result per dimension: its failed expectations, and each expectation's result with
    examples of its unexpected values (masked where personal)."""
    fields = {f.name: f for f in entry.dataset.fields}
    outcome = result.outcome
    results = {res.rule.id: res for res in outcome.results}
    for dimension, rules in by_dimension.items():
        per_rule = {}
        for rule in rules:
            res = results[rule.id]
            per_rule[rule.id] = {
                "severity": rule.severity.value,
                "success": res.success,
                "unexpected_count": res.unexpected_count,
                "unexpected_percent": round(res.unexpected_percent, 4),
                "examples": [{"source_row": e["source_row"], "value": shown(fields[rule.field], e["value"])}
                             for e in outcome.examples.get(rule.id, [])],
            }
        failed = sorted(r for r, v in per_rule.items() if not v["success"])
        yield DayCheckResult(
            check_name=dimension,
            passed=not failed,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"failed: {', '.join(failed)}" if failed else "every expectation met",
            metadata={
                "expectations": len(rules),
                "failed_expectations": len(failed),
                "unexpected_rows": sum(v["unexpected_count"] for v in per_rule.values()),
                "by_expectation": dg.MetadataValue.json(per_rule),
            },
        )


def _blocked_share_result(entry: Entry, result: StandardisedDay) -> DayCheckResult:
    """The blocking check: failed when the partition, or a provider of it, is held for its blocked rows."""
    ds, outcome, stats = entry.dataset, result.outcome, result.outcome.stats
    hold, alone = result.hold, result.provider_holds
    held_blocked = (hold is not None and hold.kind == holds.BLOCKED) or any(h.kind == holds.BLOCKED for h in alone)
    return DayCheckResult(
        check_name=BLOCKED_SHARE_CHECK,
        passed=not held_blocked,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(f"held: {hold.reason}" if hold is not None and hold.kind == holds.BLOCKED
                     else "providers held: " + "; ".join(f"{h.provider}: {h.reason}" for h in alone[:10])
                     if held_blocked
                     else "released after review" if result.released else "under the blocking limit"),
        metadata={"blocked_share": round(outcome.blocked_share, 4), "threshold": ds.max_blocked_share,
                  "min_blocked_rows": ds.min_blocked_rows,
                  "quarantined_rows": stats["quarantined_rows"], "delivered_rows": stats["delivered_rows"]},
    )


def _held_result(result: StandardisedDay) -> DayCheckResult:
    """The hold check: failed when the partition, or any provider of it, is held."""
    hold, alone = result.hold, result.provider_holds
    return DayCheckResult(
        check_name=HELD_CHECK,
        passed=hold is None and not alone,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"HELD — {hold.kind}: {hold.reason}" if hold else
        f"{len(alone)} provider(s) held alone, the others flow: " + ", ".join(
            h.provider for h in alone[:20]) if alone else "the partition flows into the base",
        metadata={"status": "held" if hold else "providers held" if alone else "flows",
                  "kind": hold.kind if hold else "", "reason": hold.reason if hold else "",
                  "held_rows": result.outcome.stats["held_rows"], "providers_held": len(alone)},
    )


def _timeliness_result(entry: Entry, result: StandardisedDay) -> DayCheckResult:
    """The timeliness check: failed when the day's delivery is not there."""
    return DayCheckResult(
        check_name=TIMELINESS_CHECK,
        passed=result.delivered,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"status": "delivered" if result.delivered else "no delivery",
                  "update_cycle": entry.dataset.update_cycle},
    )


SCORECARD_TYPES = ("string", "string", "integer", "integer", "integer", "integer", "float")


def scorecard_asset(entries: list[Entry]) -> dg.AssetsDefinition:
    @dg.asset(
        key=SCORECARD_KEY,
        deps=[standardised_key(e) for e in entries],
        partitions_def=DAILY,
        backfill_policy=PER_DAY,
        group_name="quality",
        kinds={"html"},
        description="Per department and GB/T 36344 dimension: rows checked, passed, failed and the pass rate of the day.",
        tags={"layer": "quality"},
        # its columns aggregate the day's quality results (the checks of every standardised dataset), not columns
        # of a table: it has a schema but no column lineage
        metadata={"dagster/column_schema": dg.TableSchema(columns=[
            dg.TableColumn(c, t) for c, t in zip(SCORECARD_COLUMNS, SCORECARD_TYPES, strict=True)])},
    )
    def _scorecard(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dg.MaterializeResult:
        day = date.fromisoformat(context.partition_key)
        s = settings.get()
        with lineage_run(context, settings, inputs=[quality_results_ref(e) for e in entries],
                         outputs=[scorecard_ref(entries)]) as run:
            scored = score_day([e.id for e in entries], day, s)
            card, by_provider, report = scored.card, scored.by_provider, scored.report
            run.outputs(scorecard_ref(entries, rows=len(card)))
            return dg.MaterializeResult(metadata={
                "dagster/row_count": len(card),
                "report": dg.MetadataValue.url(s.report_url(report.name)),
                "report_file": dg.MetadataValue.path(str(report)),
                "scorecard": dg.MetadataValue.md(render_markdown(card) if len(card) else "no deliveries"),
                "lowest_pass_rate": float(card["pass_rate"].min()) if len(card) else 1.0,
                **({"providers_reporting": int((by_provider["level"] != "province").sum()),
                    "providers_held": int(by_provider["providers_held"].max()),
                    "lowest_provider_pass_rate": float(by_provider["pass_rate"].min())} if len(by_provider) else {}),
                # numbers per partition, which Dagster's plots draw day by day
                **{f"pass_rate_{r.department}_{r.dimension}": float(r.pass_rate) for r in card.itertuples()},
                "openlineage_run_id": run.run_id,
            })

    return _scorecard
