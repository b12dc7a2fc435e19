"""Video device IDs of GB/T 28181: 20 digits, the first 6 a GB/T 2260 division code."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ._columns import Column
from .divisions import division_last_years
from .result import Reason, StandardResult
from .text import digit_codes


def validate_device_id(values: Column) -> StandardResult:
    """Validate and repair GB/T 28181 device IDs.

    Repairs: full-width characters, spaces. Checks, in this order: 20 digits (``format``); the first six
    digits are a GB/T 2260 code, current or retired (``division_unknown``: a camera keeps the code it was
    installed under).

    Returns a :class:`StandardResult` whose ``value`` is the 20-digit ID.
    """
    index, verdicts, ids, well_formed = digit_codes(values, 20)
    divisions = pc.cast(pc.utf8_slice_codeunits(pc.if_else(pa.array(well_formed), ids, "0"), 0, 6), pa.int64())
    verdicts.reject(division_last_years(divisions.to_numpy(False)) == 0, Reason.DIVISION_UNKNOWN)
    return verdicts.result(ids, index)
