"""Every asset key, named here once: the departments' deliveries and their raw landing, the standardised layer and
the quality scorecard, the base tables, the scenarios and their fairness audits."""

import dagster as dg

from jilin_pipelines.catalogue import Entry
from jilin_pipelines.quality.day import LAYER
from jilin_pipelines.scenarios import Scenario


def source_key(entry: Entry) -> dg.AssetKey:
    return dg.AssetKey([entry.department.department, "source", entry.dataset.name])


def raw_key(entry: Entry) -> dg.AssetKey:
    return dg.AssetKey([entry.department.department, "raw", entry.dataset.name])


def standardised_key(entry: Entry) -> dg.AssetKey:
    return dg.AssetKey([entry.department.department, LAYER, entry.dataset.name])


SCORECARD_KEY = dg.AssetKey(["quality", "scorecard"])


def base_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["base", table])


def scenario_key(s: Scenario) -> dg.AssetKey:
    return dg.AssetKey(["scenario", s.output])


def fairness_key(s: Scenario) -> dg.AssetKey:
    return dg.AssetKey(["fairness", s.name])
