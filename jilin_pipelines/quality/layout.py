"""The standardised layer's contract: what ``<data>/lake/standardised/<department>/<dataset>/<day>.parquet``
holds, for everything downstream (the base-database merge, the scenarios).

One row per delivered record that passed every blocking rule, de-duplicated within its delivery (the newest
``updated_field`` wins), with the catalogue's standard field names and types:

| catalogue type | Arrow type                               | value                                             |
|----------------|------------------------------------------|---------------------------------------------------|
| string, code   | string                                   | normalised text (IDs 18 characters upper-case, current division codes, names with ·) |
| date           | date32                                   |                                                   |
| datetime       | timestamp[us, tz=Asia/Shanghai]          |                                                   |
| integer        | int64                                    |                                                   |
| decimal        | float64                                  |                                                   |
| json_list      | string                                   | a JSON array of normalised strings                |

A ``party_id`` field ``f`` (a resident ID or a USCC) without an id-type field of its own comes with ``f_type``:
``A`` resident ID, ``B`` USCC (the codes of the traffic police's 所有人证件类型).
Bookkeeping columns: ``_warnings`` (string, a JSON array of the warning rules the row failed, sorted, ``[]`` when
none: rows of scenario inputs flow on with their problems so the scenario can answer them), ``_partition`` (date32, the delivery day), ``_source_row`` (int64, the row's position in
the delivery, as in the raw landing), ``_source_sha256`` (string, the delivery's SHA-256) and ``_provider`` (string,
the code of the provider whose delivery the row came from when the dataset has many, ``providers.py``; null
otherwise): together with the dataset they name the delivered row behind every value (provenance). The file's key-value metadata
``jilin_delivery`` (:data:`DELIVERY_META`) carries the landed delivery's facts: ``source_sha256``,
``source_size_bytes``, ``delivered_rows``.
"""

from __future__ import annotations

import json

import pyarrow as pa

from jilin_pipelines.catalogue.models import Dataset, FieldType, Standard
from jilin_pipelines.sources.delivery import PROVIDER

WARNINGS = "_warnings"
PARTITION = "_partition"
SOURCE_ROW = "_source_row"
SOURCE_SHA256 = "_source_sha256"
TIMEZONE = "Asia/Shanghai"
DELIVERY_META = b"jilin_delivery"
DELIVERY_FACTS = ("source_sha256", "source_size_bytes", "delivered_rows")
PARTY_TYPE_SUFFIX = "_type"

ARROW_TYPES = {
    FieldType.string: pa.string(),
    FieldType.code: pa.string(),
    FieldType.date: pa.date32(),
    FieldType.datetime: pa.timestamp("us", tz=TIMEZONE),
    FieldType.integer: pa.int64(),
    FieldType.decimal: pa.float64(),
    FieldType.json_list: pa.string(),
}


def standard_schema(dataset: Dataset) -> pa.Schema:
    """The Arrow schema of a dataset's standardised partitions."""
    fields: list[pa.Field] = []
    for f in dataset.fields:
        fields.append(pa.field(f.name, ARROW_TYPES[f.type]))
        if f.standard is Standard.party_id and f.id_type_field is None:
            fields.append(pa.field(f.name + PARTY_TYPE_SUFFIX, pa.string()))
    fields += [
        pa.field(WARNINGS, pa.string()),
        pa.field(PARTITION, pa.date32()),
        pa.field(SOURCE_ROW, pa.int64()),
        pa.field(SOURCE_SHA256, pa.string()),
        pa.field(PROVIDER, pa.string()),
    ]
    return pa.schema(fields)


def delivery_metadata(facts: dict) -> dict[bytes, bytes]:
    """The key-value metadata of a standardised partition's file: the landed delivery's facts
    (:data:`DELIVERY_FACTS`) out of the raw landing's summary — of a dataset of many providers, each provider's
    under ``providers``."""
    meta = {k: facts.get(k) for k in DELIVERY_FACTS}
    if facts.get("providers") is not None:
        meta["providers"] = {code: {k: f.get(k) for k in DELIVERY_FACTS} for code, f in facts["providers"].items()}
    return {DELIVERY_META: json.dumps(meta).encode()}
