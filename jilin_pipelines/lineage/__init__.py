"""Lineage: OpenLineage run events for asset materialisations — named (:mod:`.naming`), built (:mod:`.events`),
validated offline (:mod:`.validation`), emitted through the official client's transports (:mod:`.emit`), drawn as
a page (:mod:`.page`); the layers' datasets (:mod:`.datasets`). No Dagster here.

The Dagster layer calls :func:`run_event` at the start and end of every asset materialisation (START, then COMPLETE
or FAIL) and hands the event to a :class:`LineageEmitter`, which appends it to a JSON Lines file and sends it through
the transports of the official OpenLineage client (``openlineage-python``): its ``HttpTransport`` to an OpenLineage
endpoint (Marquez) when one is configured, and whatever the client's own configuration names
(``OPENLINEAGE_CONFIG``, ``OPENLINEAGE__TRANSPORT__...``: file, Kafka, HTTP, ...; see
:func:`client_transport_config`). A failing transport never fails the pipeline: the event is in the file, and the
error is returned and logged. Free text in events is masked by the redaction service (``privacy.redaction``)."""

from jilin_pipelines.lineage.emit import (
    Delivery,
    EmitResult,
    LineageEmitter,
    client_transport_config,
    default_path,
    event_line,
)

from jilin_pipelines.lineage.events import (
    Assertion,
    DatasetRef,
    Field,
    InputField,
    ParentRun,
    Purpose,
    run_event,
)
from jilin_pipelines.lineage.naming import (
    BASE_NAMESPACE,
    EVENT_TYPES,
    JOB_NAMESPACE,
    LAKE_NAMESPACE,
    PRODUCER,
    SCENARIO_NAMESPACE,
    api_source_namespace,
    database_source_namespace,
    file_source_namespace,
    job_name,
    lake_name,
    run_id_for,
    scenario_job_name,
)
from jilin_pipelines.lineage.validation import LineageValidationError, validate_event
from jilin_pipelines.privacy.redaction import mask_free_text
from jilin_pipelines.lineage.page import write_lineage_page

__all__ = [
    "Delivery",
    "client_transport_config",
    "write_lineage_page",
    "BASE_NAMESPACE",
    "EVENT_TYPES",
    "JOB_NAMESPACE",
    "LAKE_NAMESPACE",
    "PRODUCER",
    "SCENARIO_NAMESPACE",
    "Assertion",
    "DatasetRef",
    "EmitResult",
    "Field",
    "InputField",
    "LineageEmitter",
    "LineageValidationError",
    "ParentRun",
    "Purpose",
    "api_source_namespace",
    "database_source_namespace",
    "default_path",
    "event_line",
    "file_source_namespace",
    "job_name",
    "lake_name",
    "mask_free_text",
    "run_event",
    "run_id_for",
    "scenario_job_name",
    "validate_event",
]
