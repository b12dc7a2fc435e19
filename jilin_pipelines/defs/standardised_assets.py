"""Standardised assets, one per catalogue dataset: ``<department>/standardised/<dataset>``, with one asset
check per GB/T 36344 dimension its rules belong to (per-expectation results in the check's metadata), a
blocking check on the share of blocked rows, and a timeliness check."""

from datetime import date

import dagster as dg
import pyarrow as pa

from jilin_pipelines.catalogue import Entry
from jilin_pipelines.defs.openlineage_run import lineage_run
from jilin_pipelines.defs.partitions import DAILY, PER_DAY
from jilin_pipelines.defs.raw_assets import raw_key
from jilin_pipelines.defs.resources import PipelineSettings
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
from jilin_pipelines.quality.quarantine import replace_partition
from jilin_pipelines.quality.scorecard import COLUMNS as SCORECARD_COLUMNS
from jilin_pipelines.quality.scorecard import render_html, render_markdown, scorecard, write_results
from jilin_pipelines.quality.standardise import rules_of, standardise
from jilin_pipelines.lake import write_parquet_atomically
from jilin_pipelines.raw import landed_summary, landing_path

LAYER = "standardised"
BLOCKED_SHARE_CHECK = "blocked_share"
TIMELINESS_CHECK = "timeliness"


def standardised_key(entry: Entry) -> dg.AssetKey:
    return dg.AssetKey([entry.department.department, LAYER, entry.dataset.name])


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
    for rule in rules_of(entry):
        grouped.setdefault(rule.dimension.value, []).append(rule)
    return grouped


def standardised_asset(entry: Entry) -> dg.AssetsDefinition:
    ds = entry.dataset
    key = standardised_key(entry)
    by_dimension = dimension_checks(entry)
    fields = {f.name: f for f in ds.fields}
    specs = [
        dg.AssetCheckSpec(
            dimension, asset=key,
            description=f"GB/T 36344 {dimension}: " + "; ".join(f"{r.description} [{r.severity.value}]" for r in rules),
        )
        for dimension, rules in by_dimension.items()
    ]
    specs.append(dg.AssetCheckSpec(
        BLOCKED_SHARE_CHECK, asset=key, blocking=True,
        description=f"at most {ds.max_blocked_share:.0%} of the delivered rows blocked; above, downstream does not run",
    ))
    specs.append(dg.AssetCheckSpec(
        TIMELINESS_CHECK, asset=key, description=f"GB/T 36344 timeliness: the {ds.update_cycle} delivery is there"
    ))

    @dg.asset(
        key=key,
        deps=[raw_key(entry)],
        partitions_def=DAILY,
        backfill_policy=PER_DAY,
        group_name=f"{entry.department.department}_standardised",
        kinds={"parquet", "pandas"},
        check_specs=specs,
        description=f"{ds.title}: the catalogue's standard fields, the national standards applied, "
                    f"blocked rows in the quarantine, de-duplicated within the delivery (newest wins).",
        metadata={"dagster/column_schema": table_schema(entry), "dagster/column_lineage": column_lineage(entry)},
        tags={"layer": LAYER, "department": entry.department.department},
    )
    def _standardised(context: dg.AssetExecutionContext, settings: PipelineSettings):
        day = date.fromisoformat(context.partition_key)
        release_unused()  # what earlier steps of this process freed, back to the system first
        s = settings.get()
        with lineage_run(context, settings, inputs=[raw_ref(entry)],
                         outputs=[standardised_ref(entry), quarantine_ref(), quality_results_ref(entry)]) as run:
            raw_path = landing_path(entry, day, s)
            facts = landed_summary(raw_path)
            if facts is None:
                raise dg.Failure(f"{entry.id} {day}: no raw landing at {raw_path}; materialise {raw_key(entry).to_user_string()} first")
            outcome = standardise(entry, raw_path, day, facts["source_sha256"], out=landing_path(entry, day, s, layer=LAYER))
            replace_partition(settings.base_engine(), entry.id, day, outcome.quarantine)
            write_results(s.lake_dir, entry.id, day, outcome.stats, bool(facts["delivered"]))

            stats = outcome.stats
            run.outputs(
                standardised_ref(entry, rows=stats["standardised_rows"], assertions=quality_assertions(
                    entry, outcome.results, blocked_share=outcome.blocked_share, delivered=bool(facts["delivered"]))),
                quarantine_ref(rows=stats["quarantined_rows"]),
                quality_results_ref(entry),
            )
            yield dg.MaterializeResult(
                metadata={
                    "dagster/row_count": stats["standardised_rows"],
                    **{k: v for k, v in stats.items() if not isinstance(v, dict)},
                    "repairs": dg.MetadataValue.json(stats["repairs"]),
                    "failed_rows_by_dimension": dg.MetadataValue.json(stats["failed_rows_by_dimension"]),
                    "blocked_share": round(outcome.blocked_share, 4),
                    "path": dg.MetadataValue.path(str(landing_path(entry, day, s, layer=LAYER))),
                    "openlineage_run_id": run.run_id,
                }
            )
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
                yield dg.AssetCheckResult(
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
            yield dg.AssetCheckResult(
                check_name=BLOCKED_SHARE_CHECK,
                passed=outcome.blocked_share <= ds.max_blocked_share,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"blocked_share": round(outcome.blocked_share, 4), "threshold": ds.max_blocked_share,
                          "quarantined_rows": stats["quarantined_rows"], "delivered_rows": stats["delivered_rows"]},
            )
            yield dg.AssetCheckResult(
                check_name=TIMELINESS_CHECK,
                passed=bool(facts["delivered"]),
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"status": "delivered" if facts["delivered"] else "no delivery", "update_cycle": ds.update_cycle},
            )

    return _standardised


SCORECARD_KEY = dg.AssetKey(["quality", "scorecard"])


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
            card = scorecard(s.lake_dir, [e.id for e in entries], day)
            report = s.data_dir / "reports" / f"scorecard_{day.isoformat()}.html"
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(render_html(card, day), encoding="utf-8")
            write_parquet_atomically(pa.Table.from_pandas(card, preserve_index=False),
                                     s.lake_dir / "quality" / "scorecard" / f"{day.isoformat()}.parquet")
            run.outputs(scorecard_ref(entries, rows=len(card)))
            return dg.MaterializeResult(metadata={
                "dagster/row_count": len(card),
                "report": dg.MetadataValue.path(str(report)),
                "scorecard": dg.MetadataValue.md(render_markdown(card) if len(card) else "no deliveries"),
                "lowest_pass_rate": float(card["pass_rate"].min()) if len(card) else 1.0,
                "openlineage_run_id": run.run_id,
            })

    return _scorecard
