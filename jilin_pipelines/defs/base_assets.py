"""The base databases as Dagster assets: ``base/<table>``, all merged by one step per day.

A day's standardised partitions are merged together (``base.merge_partitions``: one transaction, idempotent,
order-independent, each touched key's golden history recomputed once); each base table reports the records
inserted, updated and unchanged by the day. One step for all tables, because one delivery feeds several tables (a driving
licence feeds ``person`` and ``certificate``); a selection of tables merges into just those. The ``base_merge`` concurrency pool keeps merges one at a time
on SQLite; on PostgreSQL its limit can be raised (README, "Concurrency").
"""

from contextlib import ExitStack
from datetime import date

import dagster as dg
import sqlalchemy as sa

from jilin_pipelines.base import base_config, golden_table, lineage
from jilin_pipelines.base.day import merge_day
from jilin_pipelines.base.config import column_description
from jilin_pipelines.base.schema import VALID_FROM, VALID_TO
from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.defs.openlineage_run import lineage_run
from jilin_pipelines.defs.partitions import DAILY, PER_DAY, DayCheckResult, daily_check
from jilin_pipelines.defs.resources import PipelineSettings, compute_engine
from jilin_pipelines.defs.keys import base_key, standardised_key
from jilin_pipelines.lineage import Assertion
from jilin_pipelines.lineage.datasets import base_inputs, base_ref
from jilin_pipelines.memory import release_unused
from jilin_pipelines.base.consistency import conflict_examples, name_conflicts
from jilin_pipelines.defs.failures import refusals_as_failures
from jilin_pipelines.standards import mask_value

POOL = "base_merge"
CONSISTENCY_CHECK = "consistency"


def previous_day(key: dg.AssetKey) -> dg.AssetDep:
    """A base table of day D depends on itself of D-1: "as of D" is every partition up to D, so a backfill merges
    the days in order and no scenario of D decides before the merges of the days before it have committed."""
    return dg.AssetDep(key, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1))


def _spec(table: str) -> dg.AssetSpec:
    lin = lineage()[table]
    entries = {e.id: e for e in catalogue().entries}
    deps_by_column = {
        column: [dg.TableColumnDep(asset_key=standardised_key(entries[ds]), column_name=f) for ds, f in sources]
        for column, sources in lin.columns.items()
        if sources
    }
    columns = [dg.TableColumn(c, str(t), description=column_description(table, c))
               for c, t in base_config().table(table).columns.items()]
    return dg.AssetSpec(
        key=base_key(table),
        deps=[standardised_key(entries[ds]) for ds in lin.datasets] + [previous_day(base_key(table))],
        description=f"Base table {table}: golden records merged from {', '.join(lin.datasets)}, with history "
                    f"(valid from / to) and attribute-level provenance.",
        group_name="base",
        kinds={"sqlalchemy"},
        metadata={
            "dagster/column_lineage": dg.TableColumnLineage(deps_by_column=deps_by_column),
            "dagster/column_schema": dg.TableSchema(columns=columns),
        },
        tags={"layer": "base"},
    )


def records_as_of(engine, table: str, day: date) -> int:
    """How many golden records (placeholders included) the table holds as of the day."""
    t = golden_table(table)
    query = sa.select(sa.func.count()).select_from(t).where(
        t.c[VALID_FROM] <= day, sa.or_(t.c[VALID_TO].is_(None), t.c[VALID_TO] > day)
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def base_assets() -> dg.AssetsDefinition:
    """The ``base_merge`` multi-asset; the survivorship query runs where the ``compute`` resource says (the
    embedded engine, or dagster-pyspark's session: ``definitions.py``)."""
    tables = list(base_config().tables)

    def _base(context: dg.AssetExecutionContext, settings: PipelineSettings, compute: dg.ConfigurableResource):
        day = date.fromisoformat(context.partition_key)
        release_unused()  # what earlier steps of this process freed, back to the system first
        s = settings.get()
        engine = settings.base_engine()
        selected = [t for t in tables if base_key(t) in context.selected_asset_keys]
        with ExitStack() as stack:  # one OpenLineage run per selected base table, all ending with the step
            runs = {t: stack.enter_context(lineage_run(context, settings, asset_key=base_key(t),
                                                       inputs=base_inputs(t), outputs=[base_ref(t)]))
                    for t in selected}
            where = compute_engine(compute)
            with refusals_as_failures():
                merged = merge_day(s, engine, day, selected, compute=where)
            totals = merged.as_dict()["tables"]
            for table in selected:
                runs[table].outputs(base_ref(table, rows=totals[table]["inserted"] + totals[table]["updated"]))
                yield dg.MaterializeResult(
                    asset_key=base_key(table),
                    metadata={
                        "dagster/row_count": records_as_of(engine, table, day),
                        **totals[table],
                        "merged_datasets": ", ".join(lineage()[table].datasets),
                        "engine": where.name,  # where the survivorship query ran (JILIN_ENGINE)
                        "openlineage_run_id": runs[table].run_id,
                    },
                )
            context.log.info(f"merged {len(merged.datasets)} standardised partitions of {day} into {', '.join(selected)}")
            if dg.AssetCheckKey(base_key("person"), CONSISTENCY_CHECK) not in context.selected_asset_check_keys:
                return
            conflicts = name_conflicts(engine, day)
            if "person" in runs:
                runs["person"].assertions(Assertion(
                    "consistency", bool(conflicts.empty), "name", "warn", CONSISTENCY_CHECK,
                    "GB/T 36344 consistency: every identity-bearing department names a person the same way",
                    expected="0 persons named differently",
                    actual=f"{int(conflicts['id_number'].nunique())} persons named differently",
                ))
            yield DayCheckResult(
                check_name=CONSISTENCY_CHECK,
                asset_key=base_key("person"),
                passed=conflicts.empty,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "persons_named_differently": int(conflicts["id_number"].nunique()),
                    "examples": dg.MetadataValue.json(conflict_examples(
                        conflicts, persons=5, mask_id=lambda v: mask_value(v, "resident_id"))),
                },
            )

    return dg.multi_asset(
        name="base_merge",
        specs=[_spec(t) for t in tables],
        partitions_def=DAILY,
        backfill_policy=PER_DAY,
        pool=POOL,
        can_subset=True,
        check_specs=[daily_check(
            CONSISTENCY_CHECK, asset=base_key("person"),
            description="GB/T 36344 consistency: every identity-bearing department names a person the same way",
        )],
    )(_base)
