"""Readers for every delivery format, the departments' HTTP API client, the front-end database reader (the API's
stand-in is tooling: ``jilin_tools.api_server``). Each returns a :class:`~jilin_pipelines.sources.delivery.Delivery`; none knows the
catalogue (the caller passes the format parameters) and none imports Dagster.

What the readers share has one home each: ``reader`` (the no-delivery result, opening a delivery file, and
``FileReader``, the skeleton each file format fills in with its own part), ``payload`` (a delivery's bytes a block at
a time), ``decoding`` (the encoding checked strictly, the text as UTF-8), ``tables`` (the delivered columns
reconciled, the delivery table assembled), ``collector`` (rows into string columns a chunk at a time), ``values``
(values every reader writes down alike), ``delivery_warnings`` (the capped warnings), ``paths`` (name and path safety),
``layout`` (where a day's delivery lies) and ``delivery`` (what every reader returns)."""

from jilin_pipelines.sources.layout import delivery_path
from jilin_pipelines.sources.api_client import ApiClient
from jilin_pipelines.sources.csv_reader import read_csv
from jilin_pipelines.sources.delivery import (
    BOOKKEEPING_COLUMNS,
    ERROR,
    RAW,
    SOURCE_ROW,
    Delivery,
    DeliveryError,
    SourceUnavailable,
    DeliveryWarning,
    empty_table,
)
from jilin_pipelines.sources.frontdb import read_frontdb
from jilin_pipelines.sources.jsonl_reader import read_jsonl
from jilin_pipelines.sources.xlsx_reader import read_xlsx
from jilin_pipelines.sources.xml_reader import read_xml

__all__ = [
    "BOOKKEEPING_COLUMNS",
    "ERROR",
    "RAW",
    "SOURCE_ROW",
    "ApiClient",
    "Delivery",
    "DeliveryError",
    "SourceUnavailable",
    "DeliveryWarning",
    "delivery_path",
    "empty_table",
    "read_csv",
    "read_frontdb",
    "read_jsonl",
    "read_xlsx",
    "read_xml",
]
