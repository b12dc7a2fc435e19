"""Create and change the base databases' schema through the Alembic migrations in ``base/migrations``.

``upgrade(engine_or_url)`` is what the pipeline and the tests call; it works on SQLite and PostgreSQL (for a
PostgreSQL URL with ``options=-csearch_path=<schema>`` the tables land in that schema). Concurrent upgrades of
one PostgreSQL database are serialised with an advisory lock.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "base_alembic_version"
_UPGRADE_LOCK = 0x6A696C696E_0005  # pg_advisory_xact_lock key for schema upgrades


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def as_engine(engine_or_url: sa.Engine | str | sa.URL) -> tuple[sa.Engine, bool]:
    """An engine, and whether we created it (and so must dispose of it)."""
    if isinstance(engine_or_url, sa.Engine):
        return engine_or_url, False
    return sa.create_engine(engine_or_url), True


def upgrade(engine_or_url: sa.Engine | str | sa.URL, revision: str = "head") -> str | None:
    """Bring the base database to ``revision`` (default: the newest); returns the revision it is at."""
    engine, owned = as_engine(engine_or_url)
    try:
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            with engine.connect() as conn:  # readers (scenarios) and the one writer do not block each other
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPGRADE_LOCK})
            command.upgrade(alembic_config(conn), revision)
            return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def current_revision(engine_or_url: sa.Engine | str | sa.URL) -> str | None:
    engine, owned = as_engine(engine_or_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def rebuild_golden_if_current(conn: sa.Connection, **kwargs) -> bool:
    """For the migrations that recompute golden histories with the code of today (``merge.rebuild_golden``):
    recompute only where the delivered versions and the tables the merge keeps already have the form that code
    reads (``schema.metadata``); otherwise a later migration brings that form and recomputes every history (0010).
    Returns whether it recomputed."""
    from jilin_pipelines.base.config import base_config
    from jilin_pipelines.base.merge import rebuild_golden
    from jilin_pipelines.base.schema import DELIVERY_TABLE, metadata, newest_table_name, version_table_name

    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names())
    read = [DELIVERY_TABLE] + [n for t in base_config().tables for n in (t, version_table_name(t), newest_table_name(t))]
    for name in read:
        if name not in present:
            return False
        if not {c.name for c in metadata().tables[name].columns} <= {c["name"] for c in inspector.get_columns(name)}:
            return False
    rebuild_golden(conn, **kwargs)
    return True
