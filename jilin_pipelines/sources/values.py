"""Values of the kinds every reader writes down alike, as text: the readers that render typed values (XLSX cells,
front-end database columns) call :func:`plain_text` once they have rendered what is their own."""

from __future__ import annotations

from datetime import date, time


def plain_text(value, *, true: str, false: str) -> str | None:
    """A value as text: null stays None, text as it is, a boolean as the format's word for it (``true`` or
    ``false``), an integer in decimal, a date ``YYYY-MM-DD``, a time ``HH:MM:SS`` (with its microseconds when it has
    any), anything else as ``str`` writes it.

    Numbers with a fraction and timestamps are each format's own: a ``datetime`` is also a ``date``, so the caller
    renders it before calling this."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return true if value else false
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return str(value)
