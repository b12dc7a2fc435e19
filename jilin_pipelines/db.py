"""The base database engine: one per URL and process, migrated to the newest schema on first use."""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa

from jilin_pipelines.base import upgrade


@cache
def base_engine(url: str) -> sa.Engine:
    """An engine on the base database at ``url``, its schema upgraded by the Alembic migrations."""
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # SQLite: wait for another process's write transaction instead of failing at once.
    engine = sa.create_engine(url, connect_args={"timeout": 60} if url.startswith("sqlite") else {})
    upgrade(engine)
    return engine
