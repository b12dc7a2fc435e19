"""How a delivered value of a catalogue field may be shown in Dagster metadata, logs and reports."""

from __future__ import annotations

from jilin_pipelines.catalogue import FieldSpec, Standard
from jilin_pipelines.standards import mask_value

IDENTIFIERS = {Standard.resident_id, Standard.uscc, Standard.party_id}


def shown(f: FieldSpec, value: str | None) -> str | None:
    """The value itself for a non-personal field; masked by the standards' rules for a personal one."""
    if value is None or not f.personal:
        return value
    return mask_value(value, "resident_id" if f.standard in IDENTIFIERS else "name")
