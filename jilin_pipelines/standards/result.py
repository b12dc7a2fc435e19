"""The one result every validator returns, and the codes that explain it.

A validator takes a column and answers, per value, with a :class:`StandardResult`: the normalised value,
whether it is valid, why not (a :class:`Reason`), and which repairs (:class:`Repair`) normalisation
applied. Callers decide what to do with the answer (quarantine, warn, ignore empties).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd


class Reason(StrEnum):
    """Why a value is not valid: short, machine-readable, stable (they end up in the quarantine)."""

    EMPTY = "empty"  # null, empty or whitespace-only
    FORMAT = "format"  # wrong length or characters, or no known format matches
    FORBIDDEN_LETTER = "forbidden_letter"  # a letter the standard excludes (I, O, Z, S, V in USCCs; I, O in plates)
    CHECK_DIGIT = "check_digit"  # the check character does not match
    ORG_CODE_CHECK_DIGIT = "org_code_check_digit"  # USCC: the embedded GB 11714 organisation code's check character
    BIRTH_DATE_INVALID = "birth_date_invalid"  # resident ID: the birth date does not exist
    BIRTH_DATE_FUTURE = "birth_date_future"  # resident ID: the birth date lies after today
    DIVISION_UNKNOWN = "division_unknown"  # not a GB/T 2260 code at any time
    DIVISION_NOT_IN_FORCE = "division_not_in_force"  # a GB/T 2260 code, but not in force when it has to be
    DIVISION_RETIRED = "division_retired"  # retired, and no current successor is known
    PROVINCE_UNKNOWN = "province_unknown"  # plate: the first character is no province abbreviation
    ISSUER_UNKNOWN = "issuer_unknown"  # plate: a Jilin plate whose issuing-office letter is not in use
    PLATE_TYPE_UNKNOWN = "plate_type_unknown"  # plate: the plate type is not one of the known codes
    PLATE_TYPE_MISMATCH = "plate_type_mismatch"  # plate: the number's format does not fit its plate type
    DATE_INVALID = "date_invalid"  # a known date/time format, but no such day or time (2025-02-30, 24:10)
    FUTURE = "future"  # a date or time after the reference day


class Repair(StrEnum):
    """A repair normalisation applied to a value. A value can receive several; they are listed in this order."""

    FULL_WIDTH = "full_width"  # full-width characters to half-width (０-９, Ａ-Ｚ, ．...)
    WHITESPACE = "whitespace"  # whitespace removed (codes) or trimmed and collapsed (text), U+3000 included
    CASE = "case"  # lower-case letters upper-cased
    SEPARATOR = "separator"  # plate: a separator dot removed (吉A·12345)
    MIDDLE_DOT = "middle_dot"  # name: ., •, ‧, ・ written for the middle dot ·
    LEGACY_15 = "legacy_15"  # resident ID: 15-digit number upgraded to 18 digits
    DATE_FORMAT = "date_format"  # date or time not written in ISO 8601 (2025/6/1, 20250601, 2025年6月1日, Excel serial)
    DIVISION_SUCCESSOR = "division_successor"  # retired GB/T 2260 code replaced by its current successor


REPAIR_SEPARATOR = ","


@dataclass(frozen=True)
class StandardResult:
    """What a validator says about every value of a column. All members share the input's index.

    * ``value``: the normalised values, null where the input is empty. ``string`` dtype for codes and text;
      ``datetime64[us]`` for dates, ``datetime64[us, Asia/Shanghai]`` for date-times (NaT where not parsed).
      Invalid values are normalised as far as possible and kept, so a quarantine can show them.
    * ``valid``: bool; False also for empty values (callers decide whether empty is allowed).
    * ``reason``: ``string``; null where valid, else one :class:`Reason` value (the first check that failed).
    * ``repaired``: bool; True where normalisation changed the value (also when it is still invalid).
    * ``repair``: ``string``; null where not repaired, else the :class:`Repair` values applied, joined by ``,``.
    * ``derived``: further columns derived from valid values (e.g. ``birth_date`` and ``sex`` of a resident ID),
      null where the value is not valid; a frame without columns when the validator derives nothing.
    """

    value: pd.Series
    valid: pd.Series
    reason: pd.Series
    repaired: pd.Series
    repair: pd.Series
    derived: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        """Return one frame with the columns value, valid, reason, repaired, repair and the derived columns."""
        frame = pd.DataFrame(
            {
                "value": self.value,
                "valid": self.valid,
                "reason": self.reason,
                "repaired": self.repaired,
                "repair": self.repair,
            }
        )
        return pd.concat([frame, self.derived], axis=1) if len(self.derived.columns) else frame

    def reason_counts(self) -> dict[str, int]:
        """Return how many values failed for each reason, e.g. ``{"check_digit": 3, "empty": 1}``."""
        return {str(k): int(v) for k, v in self.reason.value_counts().sort_index().items()}

    def repair_counts(self) -> dict[str, int]:
        """Return how many values received each repair (a value with two repairs counts for both)."""
        each = self.repair.dropna().str.split(REPAIR_SEPARATOR).explode()
        return {str(k): int(v) for k, v in each.value_counts().sort_index().items()}
