"""The application scenarios (DESIGN, "Scenario rules"): one module each, the rules as pure functions over
DataFrames (``decide(view, day, thresholds)``), no Dagster.

* :mod:`.core` — the declaration (:class:`Scenario`), :class:`Thresholds`, :class:`BaseView`, evidence rows;
* :mod:`.store` — loading a scenario's view of the base databases as of a day, and writing its decisions and
  their record-level provenance (``scenario_evidence``) per partition, in one transaction;
* :mod:`.day` — the layer's one call, ``run_day(settings, engine, scenario, day, …)``: the inputs from the lake,
  the decisions, the audit log's entries for the reads, the held deliveries decided without.
"""

from jilin_pipelines.scenarios import (
    budget,
    certificates,
    commercial_vehicles,
    social_assistance,
    social_security,
)
from jilin_pipelines.scenarios.core import BaseView, Decisions, Scenario, Thresholds

SCENARIOS: tuple[Scenario, ...] = (
    social_assistance.SCENARIO,
    social_security.SCENARIO,
    certificates.SCENARIO,
    budget.SCENARIO,
    commercial_vehicles.SCENARIO,
)


def scenario(name: str) -> Scenario:
    """A scenario by any name the UI or the command shows: its name, its output table, its asset key
    (``scenario/<output table>``), its asset group or job (``scenario_<name>``)."""
    for s in SCENARIOS:
        if name.strip() in (s.name, s.output, f"scenario/{s.output}", f"scenario_{s.name}", s.group):
            return s
    raise KeyError(f"no scenario {name!r}; the scenarios are {', '.join(s.name for s in SCENARIOS)}")


__all__ = ["SCENARIOS", "BaseView", "Decisions", "Scenario", "Thresholds", "scenario"]
