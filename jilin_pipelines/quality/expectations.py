"""Great Expectations suites built from the catalogue's rules, run in-process on the check frame.

One ephemeral GX context per process (progress bars off), one suite and validation definition per dataset,
created on first use. Failing rows come from GX's ``unexpected_index_list`` (COMPLETE result format): the
check frame carries a RangeIndex, so the indices are row positions. No second pass in pandas.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from jilin_pipelines.quality.rules import Checked, Rule

RESULT_FORMAT = {"result_format": "COMPLETE"}


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    success: bool
    element_count: int
    unexpected_count: int
    unexpected_percent: float
    unexpected_rows: np.ndarray  # positions in the check frame
    missing_count: int | None = None  # null rows GX left out of the percentage (None: it counts every row)


def combine(parts: list[RuleResult], offsets: list[int]) -> RuleResult:
    """One rule's results over consecutive chunks of a frame (chunk ``i`` starting at row ``offsets[i]``) as GX
    would have reported them over the whole frame: counts summed, the percentage recomputed GX's way."""
    first = parts[0]
    element = sum(p.element_count for p in parts)
    unexpected = sum(p.unexpected_count for p in parts)
    percent = None
    if element > 0:
        if all(p.missing_count is not None for p in parts):
            nonnull = element - sum(p.missing_count for p in parts)
            percent = unexpected / nonnull * 100 if nonnull > 0 else None
        else:
            percent = unexpected / element * 100
    missing = None if any(p.missing_count is None for p in parts) else sum(p.missing_count for p in parts)
    rows = np.concatenate([p.unexpected_rows + off for p, off in zip(parts, offsets, strict=True)]).astype(np.int64)
    return RuleResult(first.rule, all(p.success for p in parts), element, unexpected, float(percent or 0.0), rows,
                      missing)


@cache
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _expectation(rule: Rule):
    import great_expectations as gx

    meta = {"rule": rule.id, "dimension": rule.dimension.value, "severity": rule.severity.value}
    column = rule.column
    if rule.expectation == "not_null":
        return gx.expectations.ExpectColumnValuesToNotBeNull(column=column, meta=meta)
    if rule.expectation == "in_set":
        return gx.expectations.ExpectColumnValuesToBeInSet(column=column, value_set=rule.kwargs["value_set"], meta=meta)
    if rule.expectation == "true":
        return gx.expectations.ExpectColumnValuesToBeInSet(column=column, value_set=[True], meta=meta)
    if rule.expectation == "match_regex":
        return gx.expectations.ExpectColumnValuesToMatchRegex(column=column, regex=rule.kwargs["regex"], meta=meta)
    if rule.expectation == "between":
        return gx.expectations.ExpectColumnValuesToBeBetween(
            column=column, min_value=rule.kwargs["min_value"], max_value=rule.kwargs["max_value"], meta=meta
        )
    raise ValueError(f"rule {rule.id}: unknown expectation {rule.expectation!r}")


_validations: dict[tuple[str, tuple[Rule, ...]], object] = {}


def _validation(name: str, rules: tuple[Rule, ...]):
    """The dataset's validation definition (suite + whole-dataframe batch), built once per process."""
    key = (name, rules)
    if key not in _validations:
        import great_expectations as gx

        context = _context()
        suffix = f"{name}_{len(_validations)}"
        source = context.data_sources.add_pandas(f"source_{suffix}")
        batch = source.add_dataframe_asset(f"asset_{suffix}").add_batch_definition_whole_dataframe("delivery")
        suite = context.suites.add(gx.ExpectationSuite(f"suite_{suffix}", expectations=[_expectation(r) for r in rules]))
        _validations[key] = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"validation_{suffix}", data=batch, suite=suite)
        )
    return _validations[key]


def _forget(name: str, rules: list[Rule]) -> None:
    """Drop what a run leaves in the context, so that the memory of a validation is that of its chunk only:
    an ephemeral context stores every run's result, unexpected row lists included, for the life of the process
    (about 20 MiB per 100,000 failing rows), and the data source's execution engine keeps the last batch and every
    metric computed on it, condition columns included (about 40 MiB for 100,000 motor-vehicle rows; the engine
    recomputes them each run, so the cache only holds memory)."""
    store = _context().validation_results_store
    for key in store.list_keys():
        store.remove_key(key)
    engine = _validation(name, tuple(rules)).batch_definition.data_asset.datasource.get_execution_engine()
    engine.batch_manager.reset_batch_cache()
    engine.batch_manager.batch_data_cache.clear()  # the batch's data: the chunk's whole check frame
    engine._metric_cache.clear()  # no public way; GX is pinned by uv.lock


def _gx_frame(checked: Checked) -> pd.DataFrame:
    """The check frame as GX reads it: a RangeIndex, plain numpy floats for numbers."""
    frame = checked.frame.reset_index(drop=True)
    for column in frame.columns:
        if isinstance(frame[column].dtype, (pd.Float64Dtype, pd.Int64Dtype)):
            frame[column] = frame[column].astype("float64")
    return frame


def validate(name: str, checked: Checked) -> list[RuleResult]:
    """Run the dataset's expectations on its check frame; one result per rule, in rule order."""
    if checked.frame.empty:
        return [RuleResult(r, True, 0, 0, 0.0, np.empty(0, dtype=np.int64), 0) for r in checked.rules]
    run = _validation(name, tuple(checked.rules)).run(
        batch_parameters={"dataframe": _gx_frame(checked)}, result_format=RESULT_FORMAT
    )
    _forget(name, checked.rules)
    by_rule = {r.expectation_config.meta["rule"]: r for r in run.results}
    results = []
    for rule in checked.rules:
        outcome = by_rule[rule.id]
        if outcome.exception_info.get("raised_exception"):
            raise RuntimeError(f"{name}: expectation for rule {rule.id} raised: {outcome.exception_info}")
        res = outcome.result
        rows = np.asarray(res.get("unexpected_index_list") or [], dtype=np.int64)
        results.append(
            RuleResult(
                rule=rule,
                success=bool(outcome.success),
                element_count=int(res.get("element_count") or 0),
                unexpected_count=int(res.get("unexpected_count") or 0),
                unexpected_percent=float(res.get("unexpected_percent") or 0.0),
                unexpected_rows=rows,
                missing_count=None if res.get("missing_count") is None else int(res["missing_count"]),
            )
        )
    return results
