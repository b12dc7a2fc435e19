"""The scenarios' output tables (``catalogue/scenarios/outputs.yaml``): typed models and loader.

One declaration per scenario output — its columns in table order with their types, the key, the values a column
may take and what each column means. The serving database's tables are generated from it (``base/schema.py``) and
each scenario takes its key and its columns' meanings from it (``scenarios/core.py``), so neither is written twice.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from jilin_pipelines.catalogue.loader import CATALOGUE_DIR
from jilin_pipelines.catalogue.models import Strict

OUTPUTS_YAML = CATALOGUE_DIR / "scenarios" / "outputs.yaml"
OutputType = Literal["text", "day", "count", "number", "flag"]


class OutputsError(ValueError):
    """``outputs.yaml`` cannot be loaded; the message names the scenario and the column."""


class OutputColumn(Strict):
    type: OutputType
    nullable: bool = False
    values: tuple[str, ...] = ()  # the values the column may take (none: any)
    comment: str | None = None  # the database column's comment
    meaning: str | None = None  # what the column means, in words (shared columns: ``Outputs.meanings``)


class Output(Strict):
    table: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    comment: str
    key: tuple[str, ...] = Field(min_length=1)
    columns: dict[str, OutputColumn]

    @model_validator(mode="after")
    def _key_is_declared(self) -> Output:
        missing = [k for k in self.key if k not in self.columns]
        if missing:
            raise ValueError(f"key columns {missing} are not among the columns")
        nullable = [k for k in self.key if self.columns[k].nullable]
        if nullable:
            raise ValueError(f"key columns {nullable} cannot be nullable")
        return self


class Outputs(Strict):
    meanings: dict[str, str] = Field(default_factory=dict)  # column -> meaning, for every scenario that has it
    outputs: dict[str, Output]  # scenario name -> its output

    def of(self, scenario: str) -> Output:
        try:
            return self.outputs[scenario]
        except KeyError:
            raise KeyError(f"no output declared for scenario {scenario!r} in {OUTPUTS_YAML.name}") from None

    def meaning(self, scenario: str, column: str) -> str | None:
        """What a scenario's output column means: its own words, or the meaning the scenarios share."""
        declared = self.of(scenario).columns.get(column)
        return (declared.meaning if declared else None) or self.meanings.get(column)


@cache
def outputs() -> Outputs:
    """The scenarios' output declarations (cached)."""
    try:
        return Outputs.model_validate(yaml.safe_load(OUTPUTS_YAML.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise OutputsError(f"{OUTPUTS_YAML}: {exc}") from exc
