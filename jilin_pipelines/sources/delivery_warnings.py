"""The warnings of one delivery as a reader collects them: file-level ones all kept, row-level ones capped at
:data:`MAX_ROW_WARNINGS` with one summary warning counting the rest."""

from __future__ import annotations

from dataclasses import dataclass, field

from jilin_pipelines.sources.delivery import DeliveryWarning


#: Row-level warnings kept per delivery; beyond that one summary warning counts the rest.
MAX_ROW_WARNINGS = 20


@dataclass
class Warnings:
    """Collects warnings for one delivery; row-level ones are capped at :data:`MAX_ROW_WARNINGS`."""

    location: str
    items: list[DeliveryWarning] = field(default_factory=list)
    _row_warnings: int = 0
    _suppressed: int = 0

    def file(self, reason: str, *, row: int | None = None, field: str | None = None) -> None:
        self.items.append(DeliveryWarning(self.location, reason, row=row, field=field))

    def row(self, row: int, reason: str, *, field: str | None = None) -> None:
        if self._row_warnings < MAX_ROW_WARNINGS:
            self._row_warnings += 1
            self.items.append(DeliveryWarning(self.location, reason, row=row, field=field))
        else:
            self._suppressed += 1

    def done(self) -> list[DeliveryWarning]:
        if self._suppressed:
            self.items.append(
                DeliveryWarning(
                    self.location,
                    f"{self._suppressed} more unparseable rows not listed "
                    f"(only the first {MAX_ROW_WARNINGS} are named)",
                )
            )
            self._suppressed = 0
        return self.items
