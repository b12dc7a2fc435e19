"""The fairness audit as Dagster assets: ``fairness/<scenario>`` per scenario (daily partitions, in the scenario's
group, after its decisions), generated from the declarations; the work is ``fairness.day.audit_day``.

Each materialisation replaces the partition's rows of ``scenario_fairness``, records its reads in the exchange audit
log, emits its OpenLineage run (the per-group figures as ``dataQualityMetrics``) and answers the warning check
``fair_to_every_group``: failed when a group is flagged, naming it, the reasons that drive the gap and whether
coverage explains it.
"""


from datetime import date

import dagster as dg
import pandas as pd

from jilin_pipelines.base.schema import SCENARIO_FAIRNESS, metadata
from jilin_pipelines.defs.keys import base_key, fairness_key
from jilin_pipelines.defs.openlineage_run import lineage_run, scenario_parent
from jilin_pipelines.defs.partitions import DAILY, PER_DAY, DayCheckResult, daily_check
from jilin_pipelines.defs.resources import PipelineSettings
from jilin_pipelines.defs.scenario_assets import ScenarioThresholds
from jilin_pipelines.defs.keys import scenario_key
from jilin_pipelines.fairness import PROVINCE, describe
from jilin_pipelines.fairness.day import FairnessDay, audit_day
from jilin_pipelines.fairness.groups import DIMENSIONS
from jilin_pipelines.fairness.stats import rolling_window
from jilin_pipelines.fairness.store import SUBJECT_RECORDS
from jilin_pipelines.lineage import BASE_NAMESPACE, SCENARIO_NAMESPACE, Assertion, DatasetRef, Purpose
from jilin_pipelines.scenarios import SCENARIOS, Scenario, Thresholds
from jilin_pipelines.scenarios.store import OUTCOME_COLUMNS, day_column

CHECK = "fair_to_every_group"


def quality_metrics(rows: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The per-group figures as OpenLineage ``columnMetrics``: per stratum ``adverse_rate[<window> <dimension>=<group>]``
    (count n, sum the adverse decisions, min = max the rate), and the same for ``ratio`` and ``p_value``."""
    out: dict[str, dict[str, float]] = {}
    for r in rows.itertuples(index=False):
        stratum = f"[{r.window} {r.dimension}={r.group}]"
        out[f"adverse_rate{stratum}"] = {"count": int(r.n), "sum": int(r.adverse), "min": float(r.adverse_rate),
                                         "max": float(r.adverse_rate)}
        for name in ("ratio", "p_value"):
            value = getattr(r, name)
            if value is not None and not pd.isna(value):
                out[f"{name}{stratum}"] = {"count": int(r.n), "min": float(value), "max": float(value)}
    return out


def _table_markdown(rows: pd.DataFrame) -> str:
    """The window's groups as a Markdown table (Dagster shows it in the materialisation)."""
    lines = ["| window | dimension | group | n | adverse | ratio | adjusted p | flagged | coverage explains |",
             "|---|---|---|---:|---:|---:|---:|---|---|"]
    for r in rows.itertuples(index=False):
        ratio = "" if r.ratio is None or pd.isna(r.ratio) else f"{r.ratio:.2f}"
        p = "" if r.p_value is None or pd.isna(r.p_value) else f"{r.p_value:.2g}"
        explains = {True: "yes", False: "no"}.get(r.coverage_explains, "")
        lines.append(f"| {r.window} | {r.dimension} | {r.group} | {r.n} | {r.adverse_rate:.1%} | {ratio} | {p} | "
                     f"{'**yes**' if r.flagged else ''} | {explains} |")
    return "\n".join(lines)


def _spec_metadata(s: Scenario) -> dict:
    """The column schema of ``scenario_fairness`` and its column lineage: the figures from the decisions' outcome
    (and reasons), the groups from what names the subject, the coverage from the sources' columns."""
    f = s.fairness
    table = metadata().tables[SCENARIO_FAIRNESS]
    output = metadata().tables[s.output]
    decided = scenario_key(s)
    outcome = [c for c in (*OUTCOME_COLUMNS, "reasons") if c in output.c] or [
        c.name for c in output.columns if c.name not in s.output_key]
    figures = [dg.TableColumnDep(asset_key=decided, column_name=c) for c in outcome]
    day = [dg.TableColumnDep(asset_key=decided, column_name=day_column(s))]
    if f.subject in SUBJECT_RECORDS:
        record = SUBJECT_RECORDS[f.subject]
        subject = [dg.TableColumnDep(asset_key=base_key(record.table), column_name=c) for c in record.grouped_by]
    else:
        subject = [dg.TableColumnDep(asset_key=decided, column_name=c) for c in (f.subject_key or s.decision_id)]
    coverage = [dg.TableColumnDep(asset_key=base_key(read.partition("@")[0]), column_name=column)
                for read, column in f.coverage] + subject
    coverage = list({(d.asset_key, d.column_name): d for d in coverage}.values())
    deps = {"partition": day, "window": day, "group": subject, "coverage": coverage,
            **{c: figures for c in ("n", "adverse", "adverse_rate", "ratio", "p_value", "flagged",
                                    "missing_data_rate", "coverage_explains", "drivers")}}
    return {
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(c.name, str(c.type).lower(), description=c.comment) for c in table.columns]),
        "dagster/column_lineage": dg.TableColumnLineage(deps_by_column=deps),
        "adverse_outcomes": ", ".join(f.adverse),
        "missing_data_reasons": ", ".join(f.missing_data) or "none",
    }


def fairness_asset(s: Scenario) -> dg.AssetsDefinition:
    """The scenario's fairness audit as an asset: each partition is the fairness layer's day (``audit_day``),
    reported as the materialisation's metadata, the check ``fair_to_every_group`` and its OpenLineage run."""
    key = fairness_key(s)
    dimensions = ", ".join(DIMENSIONS[s.fairness.subject])

    @dg.asset(
        key=key,
        group_name=s.group,
        description=(f"The fairness audit of {s.title}: per {dimensions}, the adverse-outcome rate "
                     f"({', '.join(s.fairness.adverse)}) of the day and of the rolling window, its ratio to the rest "
                     "of the province, Fisher's exact test, and the coverage of each source; groups of fewer than k "
                     f"decisions merged or suppressed. Rows of {SCENARIO_FAIRNESS}."),
        deps=[scenario_key(s)],
        partitions_def=DAILY,
        backfill_policy=PER_DAY,
        kinds={"sqlalchemy", "scipy"},
        tags={"layer": "fairness"},
        metadata=_spec_metadata(s),
        check_specs=[daily_check(
            CHECK, asset=key,
            description="Warns when a group's favourable-outcome ratio is under the threshold (default 4/5) with a "
                        "significant difference and enough support (default n >= 30)",
        )],
    )
    def _fairness(context: dg.AssetExecutionContext, settings: PipelineSettings,
                  scenario_thresholds: ScenarioThresholds):
        day = date.fromisoformat(context.partition_key)
        engine = settings.base_engine()
        t = scenario_thresholds.get()
        inputs = [DatasetRef(SCENARIO_NAMESPACE, s.output), DatasetRef(BASE_NAMESPACE, "scenario_evidence")]
        output = DatasetRef(SCENARIO_NAMESPACE, f"{SCENARIO_FAIRNESS}/{s.name}")
        with lineage_run(context, settings, inputs=inputs, outputs=[output],
                         purpose=Purpose(s.name, s.title, s.legal_basis),
                         parent=scenario_parent(context, s.name)) as run:
            done = audit_day(engine, s, day, t, settings.get().reports_dir, run_id=context.run_id,
                             progress=context.log.info)
            rows, flagged = done.run.rows, done.run.flagged
            messages = [describe(r) for _, r in flagged.iterrows()]
            run.outputs(DatasetRef(SCENARIO_NAMESPACE, output.name, row_count=len(rows),
                                   quality_metrics=quality_metrics(rows)))
            run.assertions(Assertion(
                CHECK, flagged.empty, None, "warn", CHECK,
                "no group's favourable-outcome ratio under the threshold with a significant difference",
                expected="0 groups flagged", actual=f"{len(flagged)} groups flagged",
            ))
            for message in messages:
                context.log.warning(f"{s.name} {day}: flagged {message}")
            report_url = settings.get().report_url(f"{done.report.name}#{s.name}")
            yield dg.MaterializeResult(metadata=_materialisation_metadata(done, report_url, run.run_id))
            yield _check_result(key, flagged, messages, t)

    return _fairness


def _materialisation_metadata(done: FairnessDay, report_url: str, run_id: str) -> dict:
    """The materialisation's metadata: the groups flagged, the lowest ratio, the groups as a table, the report and
    the audit log's head after the audit's reads."""
    rows, audit_head = done.run.rows, done.audit_head
    ratios = pd.to_numeric(rows[rows["dimension"] != PROVINCE]["ratio"], errors="coerce")
    return {
        "dagster/row_count": len(rows),
        "flagged_groups": len(done.run.flagged),
        **({"lowest_ratio": float(ratios.min())} if ratios.notna().any() else {}),
        "decisions_in_window": rolling_window(rows).n,
        "groups": dg.MetadataValue.md(_table_markdown(rows)),
        "report": dg.MetadataValue.url(report_url),
        "report_file": dg.MetadataValue.path(str(done.report)),
        "audit_head": dg.MetadataValue.json(
            {"id": audit_head[0], "entry_hash": audit_head[1]} if audit_head else {}),
        "openlineage_run_id": run_id,
    }


def _check_result(key: dg.AssetKey, flagged: pd.DataFrame, messages: list[str], t: Thresholds) -> DayCheckResult:
    """The warning check ``fair_to_every_group``: failed when a group is flagged, naming the first five."""
    return DayCheckResult(
        check_name=CHECK,
        asset_key=key,
        passed=flagged.empty,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(messages[:5]) or "no group flagged",
        metadata={
            "flagged": dg.MetadataValue.json(messages),
            "threshold": t.fairness_ratio, "alpha": t.fairness_alpha,
            "min_support": t.fairness_min_support, "k": t.fairness_k,
        },
    )


def fairness_assets() -> list[dg.AssetsDefinition]:
    return [fairness_asset(s) for s in SCENARIOS if s.fairness is not None]
