"""Column plumbing shared by the validators: input coercion, the verdict builder, byte matrices.

Validators work positionally on one pyarrow string array and numpy arrays of the same length, and
attach the caller's index only when they build the :class:`StandardResult`.
"""

from __future__ import annotations

from typing import Union

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .result import REPAIR_SEPARATOR, Reason, Repair, StandardResult

Column = Union[pd.Series, pa.Array, pa.ChunkedArray]
"""What every validator accepts: a pandas Series, a pyarrow Array or ChunkedArray (a sequence goes via pd.Series)."""

STRING = pa.large_string()  # the storage of pandas' "string[pyarrow]" dtype
STRING_DTYPE = pd.StringDtype("pyarrow")

_REASONS = list(Reason)
_REPAIRS = list(Repair)


def as_arrow(values: Column) -> tuple[pa.Array, pd.Index]:
    """Return the values as one pyarrow array of their own type, and the index to answer with.

    A pandas Series keeps its index; pyarrow arrays and plain sequences get a RangeIndex. Mixed Python
    objects are rendered as text.
    """
    if not isinstance(values, (pd.Series, pa.Array, pa.ChunkedArray)):
        values = pd.Series(values)
    index = values.index if isinstance(values, pd.Series) else pd.RangeIndex(len(values))
    if isinstance(values, pd.Series):
        try:
            values = pa.array(values, from_pandas=True)  # zero-copy for arrow-backed Series
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python objects: let pandas render each as text
            values = pa.array(values.astype(STRING_DTYPE))
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values, index


def as_strings(values: Column) -> tuple[pa.LargeStringArray, pd.Index]:
    """Return the values as one pyarrow large_string array (non-strings rendered as text) and the index to answer with.

    A pandas Series keeps its index; pyarrow arrays and plain sequences get a RangeIndex.
    """
    values, index = as_arrow(values)
    return values.cast(STRING), index


def to_numpy_bool(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Return a pyarrow boolean array as a numpy bool array, null counting as False."""
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def char_columns(values: pa.LargeStringArray, width: int) -> np.ndarray:
    """Return the bytes of values that are all exactly ``width`` bytes long as a (width, len) uint8 matrix.

    Row i holds the i-th byte of every value: per-position arithmetic then runs over contiguous memory.
    The array must hold no nulls.
    """
    if len(values) == 0:
        return np.zeros((width, 0), np.uint8)
    offsets = np.frombuffer(values.buffers()[1], np.int64)[values.offset : values.offset + len(values) + 1]
    data = np.frombuffer(values.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
    if data.size != len(values) * width:
        raise ValueError(f"char_columns: values are not all {width} bytes long")
    return np.ascontiguousarray(data.reshape(len(values), width).T)


def strings_from_columns(columns: np.ndarray) -> pa.LargeStringArray:
    """Return the values of a (width, len) ASCII uint8 matrix (as :func:`char_columns` gives) as strings."""
    width, rows = columns.shape
    data = pa.py_buffer(np.ascontiguousarray(columns.T, dtype=np.uint8).tobytes())
    offsets = pa.py_buffer(np.arange(0, (rows + 1) * width, width, dtype=np.int64).tobytes())
    return pa.LargeStringArray.from_buffers(rows, offsets, data)


def weighted_sum(columns: np.ndarray, weights: tuple[int, ...]) -> np.ndarray:
    """Return, per value, the sum of ``columns[i] * weights[i]`` over the weights (int32)."""
    total = np.zeros(columns.shape[1], np.int32)
    for row, weight in zip(columns, weights):
        total += row * np.int32(weight)
    return total


def string_series(values: pa.Array, index: pd.Index) -> pd.Series:
    """Return a pyarrow string array as a pandas ``string`` Series with the given index."""
    return pd.Series(pd.arrays.ArrowStringArray(values.cast(STRING)), index=index, copy=False)


def labels(codes: np.ndarray, names: list[str]) -> pa.Array:
    """Return small integer codes (0 = null, k = names[k - 1]) as a pyarrow string array."""
    indices = pa.array(codes.astype(np.int32), mask=codes == 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array([""] + names, STRING)).dictionary_decode()


class Verdicts:
    """Collects, positionally, the first failed check and the repairs of each value, then builds the result."""

    def __init__(self, size: int) -> None:
        self._reason = np.zeros(size, np.uint8)  # 0 = no failure yet, k = _REASONS[k - 1]
        self._repairs = np.zeros(size, np.uint16)  # bit k = _REPAIRS[k]

    def reject_empty(self, values: pa.Array) -> None:
        """Record ``empty`` for null and empty strings among the (cleaned) ``values``; always the first check."""
        self.reject(~to_numpy_bool(pc.greater(pc.binary_length(values), 0)), Reason.EMPTY)

    def reject(self, where: np.ndarray, reason: Reason) -> None:
        """Record ``reason`` for the values at ``where`` (bool mask) that have not failed an earlier check."""
        self._reason[where & (self._reason == 0)] = _REASONS.index(reason) + 1

    def reject_at(self, positions: np.ndarray, where: np.ndarray, reason: Reason) -> None:
        """Like :meth:`reject`, for a mask ``where`` over the subset of values at ``positions``."""
        hit = positions[where]
        hit = hit[self._reason[hit] == 0]
        self._reason[hit] = _REASONS.index(reason) + 1

    def repaired(self, where: np.ndarray, repair: Repair) -> None:
        """Record that ``repair`` changed the values at ``where`` (bool mask)."""
        self._repairs[where] |= np.uint16(1 << _REPAIRS.index(repair))

    def repaired_at(self, positions: np.ndarray, where: np.ndarray, repair: Repair) -> None:
        """Like :meth:`repaired`, for a mask ``where`` over the subset of values at ``positions``."""
        self._repairs[positions[where]] |= np.uint16(1 << _REPAIRS.index(repair))

    def result(self, value: pa.Array | pd.Series, index: pd.Index, derived: dict | None = None) -> StandardResult:
        """Return the :class:`StandardResult` for normalised ``value`` (positional), with ``index`` on every member.

        ``value`` is a pyarrow string array (empty strings become null) or an already typed Series.
        Derived columns (positional arrays or Series) are nulled where the value is not valid.
        """
        valid = self._reason == 0
        if isinstance(value, pd.Series):
            value = value.set_axis(index)
        else:
            value = string_series(pc.if_else(pc.equal(value, ""), pa.scalar(None, STRING), value), index)
        combos = np.flatnonzero(np.bincount(self._repairs, minlength=1)[1:]) + 1  # the repair sets that occur
        code_of_combo = np.zeros(combos.max(initial=0) + 1, np.int32)
        code_of_combo[combos] = np.arange(1, len(combos) + 1)
        repair_codes = code_of_combo[self._repairs]
        names = [REPAIR_SEPARATOR.join(r.value for k, r in enumerate(_REPAIRS) if combo >> k & 1) for combo in combos]
        frame = pd.DataFrame(index=index)
        for name, column in (derived or {}).items():
            column = column.set_axis(index) if isinstance(column, pd.Series) else pd.Series(column, index=index)
            frame[name] = column.where(valid)
        return StandardResult(
            value=value,
            valid=pd.Series(valid, index=index),
            reason=string_series(labels(self._reason, [r.value for r in _REASONS]), index),
            repaired=pd.Series(self._repairs != 0, index=index),
            repair=string_series(labels(repair_codes, names), index),
            derived=frame,
        )
