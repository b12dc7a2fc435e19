"""OpenLineage run events around an asset materialisation: START, then COMPLETE or FAIL (level 3 of lineage).

The one Dagster-side helper; the events themselves are built by :mod:`jilin_pipelines.lineage` (pure), and the
datasets of the catalogue's layers by :mod:`jilin_pipelines.lineage.datasets`.

Usage
-----
::

    from jilin_pipelines.defs.openlineage_run import lineage_run, scenario_parent
    from jilin_pipelines.lineage import BASE_NAMESPACE, SCENARIO_NAMESPACE, Assertion, DatasetRef, Purpose

    def _decisions(context: dg.AssetExecutionContext, settings: PipelineSettings):
        with lineage_run(
            context, settings,
            inputs=[DatasetRef(BASE_NAMESPACE, "person"), DatasetRef(BASE_NAMESPACE, "vehicle")],
            outputs=[DatasetRef(SCENARIO_NAMESPACE, "social_assistance_verification/decisions")],
            purpose=Purpose("social_assistance_verification", "社会救助家庭经济状况核对", "《社会救助暂行办法》第十一条"),
            parent=scenario_parent(context, "social_assistance_verification"),
        ) as run:
            frame = decide(...)
            run.outputs(DatasetRef(SCENARIO_NAMESPACE, "social_assistance_verification/decisions",
                                   fields=[...], column_lineage={...}, row_count=len(frame)))
            run.assertions(Assertion("not_null", True, "decision"))   # onto the (first) output
            return dg.MaterializeResult(metadata={..., "openlineage_run_id": run.run_id})

The existing assets record ``openlineage_run_id`` in their materialisation metadata (the sample-run test checks it
for every materialisation). ``jilin_pipelines.lineage.datasets.base_ref(table)`` gives a base table with its schema
and column lineage; ``DatasetRef(BASE_NAMESPACE, table)`` names it only.

``lineage_run(context, settings, *, inputs=(), outputs=(), purpose=None, parent=None, asset_key=None, emitter=None)``
    A context manager. On entry it emits START with ``inputs`` and ``outputs`` (what is known before the work);
    if the body raises it emits FAIL (the error message and stack trace, masked with ``mask_free_text``; ABORT for
    an interruption) and re-raises the body's own error; on a normal exit (also at the end of a generator asset's
    body) it emits COMPLETE with the datasets as the body left them. It yields a :class:`LineageRun`:

    * ``run.inputs(*refs)`` / ``run.outputs(*refs)`` replace the inputs / outputs of the final event (schema,
      columnLineage, row count, version known only after the work);
    * ``run.assertions(*assertions, dataset=None)`` adds ``dataQualityAssertions`` to the output named
      ``dataset`` (default: the first output);
    * ``run.run_id``, ``run.job_name``, ``run.events`` (the events emitted so far, as dicts).

    ``context`` is the asset's execution context: the job is the asset key joined by ``/`` (``asset_key=`` names
    it in a multi-asset, or names a job of your own such as ``scenario_job_name(s)``), the partition day becomes
    the ``nominalTime`` facet, and the OpenLineage run ID is ``run_id_for(<dagster run id>, <job>, <partition>)``:
    one run per (asset, partition, Dagster run), the same for START and its end, without shared state (a step
    retried inside the same Dagster run re-uses it). ``settings`` is the ``PipelineSettings`` resource (or a
    ``Settings``): events go to ``<data dir>/lineage/openlineage.jsonl`` and, when ``JILIN_OPENLINEAGE_URL`` is
    set, are posted there too (2 s time-out, one retry; after a failed post the endpoint is skipped for 60 s in
    this process, the events still written to the file). ``purpose`` and ``parent`` give a scenario's runs their
    ``jilin_purpose`` and ``parent`` facets.

``scenario_parent(context, scenario)``
    The ``ParentRun`` of the scenario job ``scenario_<name>`` for this Dagster run and partition: every asset of
    the scenario materialised by one Dagster run names the same parent run (the one ``lineage_run(...,
    asset_key=scenario_job_name(scenario))`` would report).

Lineage never fails the asset: an endpoint that is down, answers an error or hangs is logged as a warning (the
event is in the file all the same), and even an unwritable file or a bad event is logged as an error, not raised.

Multi-assets: one ``lineage_run`` per output (``asset_key=``), entered together with ``contextlib.ExitStack``
(``base_merge`` does so: one event set per base table, all ending together with the step).
"""

import traceback
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any

import dagster as dg

from jilin_pipelines.lineage import (
    Assertion,
    DatasetRef,
    LineageEmitter,
    ParentRun,
    Purpose,
    job_name,
    run_event,
    run_id_for,
    scenario_job_name,
)

EMIT_OPTIONS = {"timeout": 2.0, "retries": 1, "backoff": 0.2, "cooldown": 60.0}
"""Posting in the step: short, and an endpoint that failed is left alone for a minute (the events still go to the
file), so an endpoint that hangs costs a run seconds, not minutes."""


def _partition(context) -> str | None:
    return context.partition_key if context.has_partition_key else None


def _day(partition: str | None) -> date | None:
    try:
        return date.fromisoformat(partition) if partition else None
    except ValueError:
        return None


def _job(context, asset_key) -> str:
    if asset_key is None:
        asset_key = context.asset_key
    if isinstance(asset_key, dg.AssetKey):
        return job_name(asset_key.path)
    return job_name(asset_key)


def emitter_for(settings) -> LineageEmitter:
    """The emitter of ``settings`` (``PipelineSettings`` or ``Settings``): the data dir's file, ``JILIN_OPENLINEAGE_URL``
    if set, and the transports of the OpenLineage client's own configuration (``OPENLINEAGE_CONFIG``, ...)."""
    return LineageEmitter.from_environment(settings.data_dir, getattr(settings, "openlineage_url", None),
                                           **EMIT_OPTIONS)


def scenario_parent(context, scenario: str) -> ParentRun:
    """The scenario job's run this Dagster run and partition belong to."""
    name = scenario_job_name(scenario)
    return ParentRun(run_id=run_id_for(context.run_id, name, _partition(context) or ""), job_name=name)


class LineageRun:
    """One OpenLineage run of a materialisation: what the final event will say, and what was emitted."""

    def __init__(self, *, context, emitter: LineageEmitter, job: str, inputs: Sequence[DatasetRef],
                 outputs: Sequence[DatasetRef], purpose: Purpose | None, parent: ParentRun | None):
        partition = _partition(context)
        self.job_name = job
        self.run_id = run_id_for(context.run_id, job, partition or "")
        self.partition_day = _day(partition)
        self.events: list[dict[str, Any]] = []
        self._context = context
        self._emitter = emitter
        self._inputs = list(inputs)
        self._outputs = list(outputs)
        self._purpose = purpose
        self._parent = parent

    def inputs(self, *refs: DatasetRef) -> "LineageRun":
        """Replace the inputs the final event reports."""
        self._inputs = list(refs)
        return self

    def outputs(self, *refs: DatasetRef) -> "LineageRun":
        """Replace the outputs the final event reports."""
        self._outputs = list(refs)
        return self

    def assertions(self, *assertions: Assertion | tuple, dataset: str | None = None) -> "LineageRun":
        """Add data-quality assertions to the output named ``dataset`` (default: the first output)."""
        for i, ref in enumerate(self._outputs):
            if dataset is None or ref.name == dataset:
                self._outputs[i] = replace(ref, assertions=(*ref.assertions, *assertions))
                return self
        raise ValueError(f"{self.job_name}: no output {dataset!r} to attach assertions to")

    def emit(self, event_type: str, *, error: BaseException | str | None = None, stack_trace: str | None = None,
             inputs: Iterable[DatasetRef] | None = None, outputs: Iterable[DatasetRef] | None = None) -> None:
        """Build and emit one event of this run; never raises (a failure is logged on the step's log)."""
        log = self._context.log
        try:
            event = run_event(
                event_type, run_id=self.run_id, job_name=self.job_name,
                inputs=self._inputs if inputs is None else inputs,
                outputs=self._outputs if outputs is None else outputs,
                purpose=self._purpose, parent=self._parent, error=error, stack_trace=stack_trace,
                partition_day=self.partition_day,
            )
            result = self._emitter.emit(event)
        except Exception as exc:  # noqa: BLE001 - lineage must not fail the asset
            log.error(f"OpenLineage {event_type} event of {self.job_name} not recorded: {type(exc).__name__}: {exc}")
            return
        self.events.append(event)
        if result.error is not None:
            tried = f" after {result.attempts} attempt(s)" if result.attempts else ""
            log.warning(f"OpenLineage {event_type} event of {self.job_name} written to {result.path} but not "
                        f"delivered to {result.url}{tried}: {result.error}")


@contextmanager
def lineage_run(
    context,
    settings,
    *,
    inputs: Iterable[DatasetRef] = (),
    outputs: Iterable[DatasetRef] = (),
    purpose: Purpose | None = None,
    parent: ParentRun | None = None,
    asset_key: dg.AssetKey | str | Sequence[str] | None = None,
    emitter: LineageEmitter | None = None,
) -> Iterator[LineageRun]:
    """START now, COMPLETE when the body ends, FAIL (re-raising) when it raises: see the module doc."""
    run = LineageRun(context=context, emitter=emitter or emitter_for(settings), job=_job(context, asset_key),
                     inputs=list(inputs), outputs=list(outputs), purpose=purpose, parent=parent)
    run.emit("START")
    try:
        yield run
    except Exception as exc:
        run.emit("FAIL", error=_message(exc), stack_trace=traceback.format_exc())
        raise
    except BaseException as exc:  # interrupted (run terminated, generator closed): not a failure of the work
        run.emit("ABORT", error=_message(exc) or type(exc).__name__)
        raise
    run.emit("COMPLETE")


def _message(exc: BaseException) -> str:
    """``<type>: <message>``; a ``dg.Failure`` says its description."""
    text = getattr(exc, "description", None) if isinstance(exc, dg.Failure) else None
    return f"{type(exc).__name__}: {text if text is not None else exc}"
