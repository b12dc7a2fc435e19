"""Lawful sharing: sharing classes enforced, pseudonyms for personal identifiers, the exchange audit chain.

Pure core, no Dagster import:

* ``check_reads(scenario, purpose, reads, consumer=None, *, sources=None) -> [(dataset_id, field)]`` — refuses,
  with a :class:`SharingPolicyError` naming the scenario, ``table.column``, the dataset and field behind it and the
  rule, a scenario that reads base-table columns its purpose (or consumer) may not see (``policy.py``);
* ``pseudonymise(values, key=None)`` — HMAC-SHA-256 pseudonyms of a column, key ``JILIN_PSEUDONYM_KEY``
  (refused when unset in production, a labelled development key otherwise) (``pseudonym.py``);
* ``record(engine, [AuditEntry(...)])`` / ``verify(engine) -> VerifyResult`` — the append-only, hash-chained
  ``exchange_audit`` table of the base database (``audit.py``).
"""

from jilin_pipelines.privacy.audit import (
    AuditEntry,
    AuditError,
    VerifyResult,
    entries_for_reads,
    head,
    record,
    verify,
)
from jilin_pipelines.privacy.policy import (
    SharingPolicyError,
    Violation,
    check_reads,
    fields_by_dataset,
    personal_fields,
)
from jilin_pipelines.privacy.pseudonym import (
    DEVELOPMENT_KEY,
    DevelopmentKeyWarning,
    PseudonymKeyError,
    pseudonym,
    pseudonym_key,
    pseudonymise,
)

__all__ = [
    "DEVELOPMENT_KEY",
    "AuditEntry",
    "AuditError",
    "DevelopmentKeyWarning",
    "PseudonymKeyError",
    "SharingPolicyError",
    "VerifyResult",
    "Violation",
    "check_reads",
    "entries_for_reads",
    "fields_by_dataset",
    "head",
    "personal_fields",
    "pseudonym",
    "pseudonym_key",
    "pseudonymise",
    "record",
    "verify",
]
