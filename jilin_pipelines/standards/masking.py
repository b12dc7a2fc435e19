"""Masking for display and logs: the one place that says how much of an identifier may be shown (free text is
redacted with these rules by ``privacy.redaction``).

Every rule keeps at most ``keep_first`` leading and ``keep_last`` trailing characters and replaces every
other character by ``*`` (so the length shows). A value too short to hide at least ``min_masked`` characters
that way is masked entirely. Surrounding whitespace is dropped first; empty values become null.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._columns import STRING, Column, as_strings, string_series

MASK = "*"


@dataclass(frozen=True)
class MaskRule:
    keep_first: int
    keep_last: int
    min_masked: int


MASK_RULES = {
    "resident_id": MaskRule(keep_first=6, keep_last=4, min_masked=4),  # 220102********1234
    "uscc": MaskRule(keep_first=6, keep_last=4, min_masked=4),  # 911100********341L
    "phone": MaskRule(keep_first=3, keep_last=4, min_masked=4),  # 138****8000
    "name": MaskRule(keep_first=1, keep_last=0, min_masked=1),  # 张*, 欧**; a one-character name: *
}


def mask(values: Column, kind: str) -> pd.Series:
    """Return the values masked by ``MASK_RULES[kind]``, as a ``string`` Series with the input's index.

    ``kind`` is one of ``resident_id``, ``uscc``, ``phone``, ``name``; a KeyError names the known ones.
    """
    if kind not in MASK_RULES:
        raise KeyError(f"no mask rule {kind!r}; known: {', '.join(MASK_RULES)}")
    rule = MASK_RULES[kind]
    strings, index = as_strings(values)
    text = pc.utf8_trim_whitespace(strings)
    length = pc.fill_null(pc.utf8_length(text), 0).to_numpy(False)
    hidden = length - rule.keep_first - rule.keep_last
    partial = hidden >= rule.min_masked
    head = pc.utf8_slice_codeunits(text, 0, rule.keep_first)
    tail = pc.utf8_slice_codeunits(text, -rule.keep_last) if rule.keep_last else pa.scalar("", STRING)
    stars = pc.binary_repeat(pa.scalar(MASK, STRING), pa.array(np.where(partial, hidden, length)))
    masked = pc.if_else(pa.array(partial), pc.binary_join_element_wise(head, stars, tail, pa.scalar("", STRING)), stars)
    return string_series(pc.if_else(pc.greater(length, 0), masked, pa.scalar(None, STRING)), index)


def mask_value(value: str | None, kind: str) -> str | None:
    """Return one value masked by ``MASK_RULES[kind]`` (for log messages); None for an empty value."""
    masked = mask(pd.Series([value], dtype="string"), kind).iloc[0]
    return None if pd.isna(masked) else masked

