"""The delivery table as every reader builds it: the delivered columns reconciled with the expected ones, the
columns assembled as strings beside the bookkeeping columns, and parsed and unparseable rows merged in row order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from jilin_pipelines.sources.delivery import ERROR, PROVIDER, RAW, SOURCE_ROW, DeliveryError


def reconcile_columns(
    location: str, delivered: Sequence[str], expected: Sequence[str] | None, *, what: str = "header"
) -> tuple[list[str], list[str]]:
    """Compare the delivered column names with the expected ones.

    Returns ``(ordered, extra)``: the delivered columns in the expected order followed by the extra
    ones in delivery order, and the extra ones. Duplicate or missing columns are a
    :class:`DeliveryError` naming the location and the columns (a renamed column shows as one missing
    and one unexpected). Extra columns are kept (nothing read is dropped); the caller warns.
    """
    if expected is not None:
        present = len(set(expected) & set(delivered))
        if 2 * present < len(expected):
            # fewer than half of the expected names: most likely no header at all but a data row, whose values
            # (ID numbers, names) must not travel in an error message
            raise DeliveryError(
                f"{location}: the first row is not the {what}: it has {len(delivered)} values and only {present} "
                f"of the {len(expected)} expected column names {list(expected)} (its values are not shown: they "
                f"may be a data row)"
            )
    seen: set[str] = set()
    dups = []
    for c in delivered:
        if c in seen and c not in dups:
            dups.append(c)
        seen.add(c)
    if dups:
        raise DeliveryError(f"{location}: {what} repeats the columns {dups}")
    if expected is None:
        return list(delivered), []
    missing = [c for c in expected if c not in seen]
    extra = [c for c in delivered if c not in set(expected)]
    if missing:
        raise DeliveryError(
            f"{location}: {what} does not match the expected columns: missing {missing}"
            + (f", unexpected {extra}" if extra else "")
            + f" (delivered {list(delivered)})"
        )
    return list(expected) + extra, extra


def assemble(
    columns: Sequence[str],
    values: dict[str, pa.Array | pa.ChunkedArray],
    source_row: np.ndarray | pa.Array,
    error: pa.Array | None = None,
    raw: pa.Array | None = None,
) -> pa.Table:
    """Build the delivery table: ``columns`` as strings (missing ones all null), then bookkeeping."""
    n = len(source_row)
    clash = [c for c in columns if c in (SOURCE_ROW, ERROR, RAW, PROVIDER)]
    if clash:
        raise DeliveryError(f"delivered columns {clash} clash with the bookkeeping columns")
    arrays = []
    fields = []
    for c in columns:
        arr = values.get(c)
        if arr is None:
            arr = pa.nulls(n, pa.string())
        elif arr.type != pa.string():
            arr = arr.cast(pa.string())
        arrays.append(arr)
        fields.append(pa.field(c, pa.string()))
    arrays.append(pa.array(source_row, pa.int64()))
    arrays.append(error if error is not None else pa.nulls(n, pa.string()))
    arrays.append(raw if raw is not None else pa.nulls(n, pa.string()))
    fields += [pa.field(SOURCE_ROW, pa.int64()), pa.field(ERROR, pa.string()), pa.field(RAW, pa.string())]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


#: pieces of a delivery table left as they are by :func:`interleave`
MAX_PIECES = 256


def interleave(good: pa.Table, bad: pa.Table) -> pa.Table:
    """Merge parsed and unparseable rows (each in ``_source_row`` order) into one table in row order.

    With few unparseable rows, the parsed rows are sliced around them (zero-copy) instead of sorted, and with up to
    :data:`MAX_PIECES` pieces the table is left in them (the Parquet writer takes them as they are; combining would
    copy the whole delivery once more).
    """
    if bad.num_rows == 0:
        return good
    bad = bad.sort_by(SOURCE_ROW)
    if good.num_rows == 0:
        return bad
    if bad.num_rows > 10_000:
        return pa.concat_tables([good, bad]).sort_by(SOURCE_ROW).combine_chunks()
    good_rows = good.column(SOURCE_ROW).to_numpy()
    cuts = np.searchsorted(good_rows, bad.column(SOURCE_ROW).to_numpy())
    pieces = []
    prev = 0
    for i, cut in enumerate(cuts.tolist()):
        if cut > prev:
            pieces.append(good.slice(prev, cut - prev))
        pieces.append(bad.slice(i, 1))
        prev = cut
    if prev < good.num_rows:
        pieces.append(good.slice(prev))
    table = pa.concat_tables(pieces)
    return table.combine_chunks() if len(pieces) > MAX_PIECES else table
