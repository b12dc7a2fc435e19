"""Fixtures of the privacy tests: a base database on SQLite and on the real PostgreSQL (a fresh schema per test),
migrated to the newest revision."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jilin_pipelines.base import upgrade


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'base.sqlite'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture()
def engine(db_url):
    upgrade(db_url)
    eng = sa.create_engine(db_url, connect_args={"timeout": 60} if db_url.startswith("sqlite") else {})
    yield eng
    eng.dispose()
