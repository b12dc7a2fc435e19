"""Alembic environment of the base databases. Run through ``jilin_pipelines.base.migrate.upgrade`` (which hands
over an open connection); without one, it connects to ``Settings.from_env().base_db_url``."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from jilin_pipelines.base.migrate import VERSION_TABLE
from jilin_pipelines.base.schema import metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from jilin_pipelines.settings import Settings

    engine = sa.create_engine(Settings.from_env().base_db_url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
