"""Data standards: validate and repair the national codes, column-wise.

Pure functions over columns (a pandas Series, or a pyarrow Array or ChunkedArray), no Dagster, nothing else
of ours. Every validator returns a :class:`StandardResult` with the input's index: the normalised ``value``,
``valid``, the ``reason`` when not (a :class:`Reason`), and the ``repair`` normalisation applied (a
:class:`Repair`). Empty values are ``valid`` False with reason ``empty``; callers decide whether empty is allowed.

For example ``validate_resident_id(pd.Series(["11010519491231002x", "110105491231002"]))`` gives the values
``11010519491231002X`` twice, both valid, repaired by ``case`` and ``legacy_15``.
"""

from .dates import DATE_DTYPE, DATETIME_DTYPE, SHANGHAI, parse_date, parse_datetime, today_in_shanghai
from .device_ids import validate_device_id
from .divisions import division_periods, validate_division
from .masking import MASK_RULES, MaskRule, mask, mask_value
from .plates import PLATE_TYPES, plate_letters_jilin, plate_provinces, validate_plate
from .resident_id import validate_resident_id
from .result import Reason, Repair, StandardResult
from .text import normalise_name, normalise_text
from .uscc import validate_uscc

__all__ = [
    "DATETIME_DTYPE",
    "DATE_DTYPE",
    "MASK_RULES",
    "PLATE_TYPES",
    "SHANGHAI",
    "MaskRule",
    "Reason",
    "Repair",
    "StandardResult",
    "division_periods",
    "mask",
    "mask_value",
    "normalise_name",
    "normalise_text",
    "parse_date",
    "parse_datetime",
    "plate_letters_jilin",
    "plate_provinces",
    "today_in_shanghai",
    "validate_device_id",
    "validate_division",
    "validate_plate",
    "validate_resident_id",
    "validate_uscc",
]
