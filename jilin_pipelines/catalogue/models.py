"""Typed models of the government data resource catalogue (政务信息资源目录).

One YAML file per department; one entry per dataset; per field the source name, the standard name,
the type, whether it is personal information, which standard validates it and its expectations.
Everything downstream (readers, Dagster assets, checks, schemas, documentation) is generated from it.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = r"^[a-z][a-z0-9_]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SharingClass(str, Enum):
    """GB/T 21063 sharing classes: 无条件共享 / 有条件共享 / 不予共享."""

    unconditional = "unconditional"
    conditional = "conditional"
    not_shared = "not_shared"


class FieldType(str, Enum):
    string = "string"
    code = "code"
    date = "date"
    datetime = "datetime"
    integer = "integer"
    decimal = "decimal"
    json_list = "json_list"


class Standard(str, Enum):
    """Which national standard validates (and repairs) a field; implemented in ``standards/``."""

    resident_id = "resident_id"  # GB 11643-1999
    uscc = "uscc"  # GB 32100-2015
    party_id = "party_id"  # a resident ID or a USCC, told apart by form (or by an id-type field)
    division_code = "division_code"  # GB/T 2260
    plate = "plate"  # GA 36
    device_id = "device_id"  # GB/T 28181
    person_name = "person_name"  # names: spaces, full-width, the · of minority names
    text = "text"  # free text: full-width to half-width, whitespace
    longitude = "longitude"  # inside Jilin
    latitude = "latitude"  # inside Jilin


class Dimension(str, Enum):
    """GB/T 36344 data-quality dimensions."""

    normativity = "normativity"
    completeness = "completeness"
    accuracy = "accuracy"
    consistency = "consistency"
    timeliness = "timeliness"
    accessibility = "accessibility"


class Severity(str, Enum):
    block = "block"  # the row may not flow on: it goes to the quarantine
    warn = "warn"  # reported, the row flows on


#: The longest free text or name a field holds unless the catalogue says otherwise (characters).
DEFAULT_MAX_LENGTH = 500


class FieldSpec(Strict):
    source: str = Field(description="the field's name in the delivery, exactly as the department writes it")
    name: Annotated[str, Field(pattern=NAME)] = Field(description="the platform's standard field name")
    type: FieldType = FieldType.string
    title: str = ""
    personal: bool = Field(False, description="personal information (PIPL art. 28, GB/T 35273): masked everywhere")
    required: bool = False
    standard: Standard | None = None
    codes: tuple[str, ...] | None = Field(None, description="the code list for type code")
    pattern: str | None = Field(None, description="a regular expression the normalised value must match")
    minimum: float | None = None
    maximum: float | None = None
    id_type_field: str | None = Field(None, description="for party_id: the field saying A (resident ID) or B (USCC)")
    future_allowed: bool = Field(False, description="a date that may lie after the delivery day (ends of validity)")
    matches_id_of: str | None = Field(
        None, description="sex or birth date that must agree with this resident-ID field (a consistency warning)"
    )
    severity: Severity = Severity.block
    max_length: int | None = Field(
        None, ge=1, description="text longer than this many characters is refused (default for free text and names: "
                                "DEFAULT_MAX_LENGTH); the value never reaches the base"
    )

    @model_validator(mode="after")
    def _coherent(self) -> FieldSpec:
        if self.type is FieldType.code and not self.codes:
            raise ValueError(f"field {self.name!r} is of type code but lists no codes")
        if self.codes is not None and self.type is not FieldType.code:
            raise ValueError(f"field {self.name!r} lists codes but is of type {self.type.value}")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"field {self.name!r}: bad pattern {self.pattern!r}: {exc}") from None
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"field {self.name!r}: minimum {self.minimum} is above maximum {self.maximum}")
        return self


class CsvFormat(Strict):
    kind: Literal["csv"]
    encoding: Literal["gbk", "utf-8-sig"]


class XlsxFormat(Strict):
    kind: Literal["xlsx"]
    sheet: str


class XmlFormat(Strict):
    kind: Literal["xml"]
    record_tag: str


class JsonlFormat(Strict):
    kind: Literal["jsonl"]


class ApiFormat(Strict):
    """Served by the department's HTTP API (SPEC §6); in the samples, its records lie in JSON Lines files."""

    kind: Literal["api"]


class FrontDbFormat(Strict):
    """Pulled with SQL from the department's front-end exchange database (前置库)."""

    kind: Literal["frontdb"]
    table: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    day_column: str


DeliveryFormat = Annotated[
    CsvFormat | XlsxFormat | XmlFormat | JsonlFormat | ApiFormat | FrontDbFormat, Field(discriminator="kind")
]

FILE_EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "xml": "xml", "jsonl": "jsonl", "api": "jsonl"}


class Dataset(Strict):
    name: Annotated[str, Field(pattern=NAME)]
    resource_code: str = Field(description="资源代码 in the provincial catalogue")
    title: str = Field(description="the resource's name (资源名称)")
    summary: str
    format: DeliveryFormat
    update_cycle: Literal["daily", "weekly", "monthly"] = "daily"
    update_time: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = Field(
        description="when the day's delivery is due, Asia/Shanghai, HH:MM"
    )
    sharing_class: SharingClass
    legal_basis: str
    allowed_purposes: tuple[str, ...] = ()
    allowed_consumers: tuple[Annotated[str, Field(pattern=NAME)], ...] = Field(
        (), description="conditional data only: the consumers allowed (empty: any consumer, for the allowed purposes)"
    )
    scenario_input: bool = Field(
        False, description="rows are requests a scenario must answer: never quarantined, their problems are warnings"
    )
    max_blocked_share: float = Field(
        0.5, ge=0, le=1,
        description="above this share of blocked rows (and min_blocked_rows) the partition is held out of the base",
    )
    min_blocked_rows: int = Field(
        20, ge=1, description="fewer blocked rows than this never hold a partition: a small increment's few bad "
                              "rows are quarantined and the rest flows on",
    )
    key: tuple[str, ...]
    updated_field: str | None = Field(None, description="the field whose newest value wins among versions")
    fields: tuple[FieldSpec, ...]

    @model_validator(mode="after")
    def _coherent(self) -> Dataset:
        names = [f.name for f in self.fields]
        sources = [f.source for f in self.fields]
        for label, values in (("standard name", names), ("source name", sources)):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"duplicate {label}s: {', '.join(dupes)}")
        for k in self.key:
            if k not in names:
                raise ValueError(f"key field {k!r} is not one of the fields")
        if self.updated_field is not None and self.updated_field not in names:
            raise ValueError(f"updated_field {self.updated_field!r} is not one of the fields")
        for f in self.fields:
            for attr in ("id_type_field", "matches_id_of"):
                other = getattr(f, attr)
                if other is not None and other not in names:
                    raise ValueError(f"field {f.name!r}: {attr} {other!r} is not one of the fields")
        if self.sharing_class is SharingClass.conditional and not self.allowed_purposes:
            raise ValueError("a conditionally shared dataset must list its allowed_purposes")
        if self.allowed_consumers and self.sharing_class is not SharingClass.conditional:
            raise ValueError(
                f"allowed_consumers is for conditionally shared datasets only, not {self.sharing_class.value}"
            )
        for label, values in (("allowed_purposes", self.allowed_purposes), ("allowed_consumers", self.allowed_consumers)):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"{label} repeats {', '.join(dupes)}")
        return self

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def source_columns(self) -> list[str]:
        """The columns a delivery carries, in catalogue order."""
        return [f.source for f in self.fields]


class Department(Strict):
    department: Annotated[str, Field(pattern=NAME)]
    name: str
    provider: str = Field(description="the providing body (提供方)")
    datasets: tuple[Dataset, ...]

    @model_validator(mode="after")
    def _unique(self) -> Department:
        names = [d.name for d in self.datasets]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate datasets: {', '.join(dupes)}")
        return self
