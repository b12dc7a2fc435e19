"""The scenarios as Dagster assets: one asset group ``scenario_<name>`` and one job per scenario, generated from the
declarations in ``jilin_pipelines/scenarios`` (the rules themselves are pure functions there).

``scenario/<output table>`` for partition D reads the base tables as of D (its deps), decides the inputs delivered
on D, and replaces that partition's decisions and their record-level evidence (``scenario_evidence``). Every read
of a base table is appended to the exchange audit log, and the materialisation emits its OpenLineage run (with
the scenario as the run's purpose). Loading the definitions checks every scenario's reads against the sharing
classes of the catalogue: a scenario that reads a field its purpose may not see fails to load.
"""

import dataclasses
import typing
from datetime import date

import dagster as dg

from jilin_pipelines.base import base_config
from jilin_pipelines.base.schema import metadata
from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.defs.keys import base_key, scenario_key
from jilin_pipelines.defs.openlineage_run import lineage_run, scenario_parent
from jilin_pipelines.defs.partitions import DAILY, PER_DAY
from jilin_pipelines.defs.resources import PipelineSettings, compute_engine
from jilin_pipelines.defs.keys import standardised_key
from jilin_pipelines.lineage import (
    BASE_NAMESPACE,
    SCENARIO_NAMESPACE,
    DatasetRef,
    InputField,
    Purpose,
)
from jilin_pipelines.lineage.datasets import base_ref, standardised_name_ref
from jilin_pipelines.memory import release_unused
from jilin_pipelines.privacy.policy import check_scenario
from jilin_pipelines.defs.failures import refusals_as_failures
from jilin_pipelines.scenarios import SCENARIOS, Scenario, Thresholds
from jilin_pipelines.scenarios.day import input_entry, run_day
from jilin_pipelines.scenarios.store import input_dataset


def _thresholds_resource() -> type[dg.ConfigurableResource]:
    """The ``scenario_thresholds`` resource: every field of :class:`Thresholds` with its default (DESIGN, "Scenario
    rules", and the fairness audit's), settable in the launchpad or in ``definitions.py``; ``get()`` the
    dataclass."""
    hints = typing.get_type_hints(Thresholds)
    fields = dataclasses.fields(Thresholds)

    def get(self) -> Thresholds:
        return Thresholds(**{f.name: getattr(self, f.name) for f in fields})

    namespace = {"__module__": __name__, "__doc__": _thresholds_resource.__doc__,
                 "__annotations__": {f.name: hints[f.name] for f in fields},
                 **{f.name: f.default for f in fields}, "get": get}
    return type("ScenarioThresholds", (dg.ConfigurableResource,), namespace)


ScenarioThresholds = _thresholds_resource()


def _column_dep(s: Scenario, table: str, column: str) -> dg.TableColumnDep:
    """A column the scenario reads: of a base table, or of its inputs (the input dataset's standardised field)."""
    if table == s.input:
        ds = input_dataset(table)
        source = next(x for x in base_config().table(table).sources if x.dataset == ds and not x.role)
        entry = next(e for e in catalogue().entries if e.id == ds)
        return dg.TableColumnDep(asset_key=standardised_key(entry), column_name=source.field_of(column))
    return dg.TableColumnDep(asset_key=base_key(table), column_name=column)


def _spec_metadata(s: Scenario) -> dict:
    table = metadata().tables[s.output]
    deps = {}
    for column in table.columns:
        refs = s.lineage_of(column.name)
        if refs:
            deps[column.name] = [_column_dep(s, t, c) for t, c in refs]
    return {
        "dagster/column_lineage": dg.TableColumnLineage(deps_by_column=deps),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(c.name, str(c.type).lower(), description=s.describe(c.name) or c.comment)
                     for c in table.columns]
        ),
        "purpose": s.purpose,
        "consumer": s.consumer,
        "legal_basis": s.legal_basis,
        "reads": dg.MetadataValue.json({name: list(cols) for name, cols in s.reads.items()}),
        "inputs": dg.MetadataValue.json({input_dataset(s.input): list(s.input_columns)} if s.input else {}),
    }


def _input_field(s: Scenario, table: str, column: str) -> InputField:
    dep = _column_dep(s, table, column)
    if table == s.input:
        ref = standardised_name_ref(input_dataset(table))
        return InputField(ref.namespace, ref.name, dep.column_name)
    return InputField(BASE_NAMESPACE, table, column)


def _inputs(s: Scenario) -> list[DatasetRef]:
    refs = [base_ref(t) for t in s.tables()]
    return refs + ([standardised_name_ref(input_dataset(s.input))] if s.input else [])


def _output_ref(s: Scenario, rows: int | None = None) -> DatasetRef:
    table = metadata().tables[s.output]
    fields = [(c.name, str(c.type).lower()) for c in table.columns]
    lineage = {
        c.name: [_input_field(s, t, col) for t, col in s.lineage_of(c.name)]
        for c in table.columns if s.lineage_of(c.name)
    }
    return DatasetRef(SCENARIO_NAMESPACE, s.output, fields, lineage, row_count=rows)


def scenario_asset(s: Scenario) -> dg.AssetsDefinition:
    check_scenario(s)
    purpose = Purpose(s.name, s.title, s.legal_basis)
    entry = input_entry(s)  # the inputs delivered on D: the input dataset's standardised partition

    @dg.asset(
        key=scenario_key(s),
        name=None,
        group_name=s.group,
        description=f"{s.title}. Purpose {s.purpose}, for {s.consumer}; legal basis {s.legal_basis}.",
        deps=[base_key(t) for t in s.tables()] + ([standardised_key(entry)] if entry else []),
        partitions_def=DAILY,
        backfill_policy=PER_DAY,
        kinds={"sqlalchemy"},
        metadata=_spec_metadata(s),
        tags={"layer": "scenario"},
    )
    def _scenario(context: dg.AssetExecutionContext, settings: PipelineSettings, scenario_thresholds: ScenarioThresholds,
                  compute: dg.ConfigurableResource):
        day = date.fromisoformat(context.partition_key)
        release_unused()  # what earlier steps of this process freed, back to the system first
        engine = settings.base_engine()
        with lineage_run(context, settings, inputs=_inputs(s), outputs=[_output_ref(s)],
                         purpose=purpose, parent=scenario_parent(context, s.name)) as run:
            where = compute_engine(compute)
            with refusals_as_failures():
                done = run_day(settings.get(), engine, s, day, scenario_thresholds.get(), run_id=context.run_id,
                               compute=where)
            result, audit_head, held = done.run, done.audit_head, done.held
            if held:
                context.log.warning(f"{s.name} {day}: decided without {len(held)} held deliveries: "
                                    + "; ".join(f"{h.label} {h.partition}" for h in held[:10]))
            run.outputs(_output_ref(s, rows=result.decisions))
            context.log.info(f"{s.name} {day}: {result.decisions} decisions, {result.evidence} evidence rows")
            return dg.MaterializeResult(metadata={
                "dagster/row_count": result.decisions,
                "evidence_rows": result.evidence,
                "outcomes": dg.MetadataValue.json(result.outcomes),
                "records_read": dg.MetadataValue.json(result.read_counts),
                "engine": where.name,  # where the rule's set-based core ran (JILIN_ENGINE)
                # the audit log's head after this read, outside the base database: `audit verify` checks it
                "audit_head": dg.MetadataValue.json(
                    {"id": audit_head[0], "entry_hash": audit_head[1]} if audit_head else {}),
                "decided_without_held": dg.MetadataValue.json(
                    [{"dataset": h.dataset, "partition": h.partition.isoformat(), "reason": h.reason,
                      **({"provider": h.provider} if h.provider else {})} for h in held]),
                "openlineage_run_id": run.run_id,
            })

    return _scenario


def scenario_assets() -> list[dg.AssetsDefinition]:
    tables = set(base_config().tables)
    for s in SCENARIOS:
        missing = [t for t in s.tables() if t not in tables]
        if missing:
            raise ValueError(f"scenario {s.name} reads unknown base tables {missing}")
    return [scenario_asset(s) for s in SCENARIOS]


def scenario_jobs() -> list:
    """One job per scenario: its asset group (the base tables it reads are its upstream)."""
    return [
        dg.define_asset_job(
            f"scenario_{s.name}",
            selection=dg.AssetSelection.groups(s.group),
            partitions_def=DAILY,
            description=f"{s.title}: the scenario's decisions for one day, from the base databases as of that day.",
        )
        for s in SCENARIOS
    ]
