"""What a run leaves in the lake, in a form two landings can be compared by."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from jilin_pipelines.raw import META_KEY


def lake_inventory(data_dir: Path) -> dict[str, dict]:
    """Every Parquet file of the lake: its row count and (for raw landings) the recorded delivery facts."""
    inventory = {}
    lake = data_dir / "lake"
    for path in sorted(lake.rglob("*.parquet")):
        meta = pq.read_metadata(path).metadata or {}
        facts = json.loads(meta[META_KEY]) if META_KEY in meta else {}
        facts.pop("landing_path", None)  # differs by data directory
        inventory[str(path.relative_to(lake))] = {"rows": pq.read_metadata(path).num_rows, "facts": facts}
    return inventory
