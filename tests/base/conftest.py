"""Fixtures of the base-database tests: an engine on SQLite and on the real PostgreSQL (a fresh schema per test),
migrated to the newest revision; the committed sample's clean truth as standardised partitions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from base_testkit import sample_partitions

from jilin_pipelines.base import upgrade


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'base.sqlite'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture()
def engine(db_url):
    upgrade(db_url)
    eng = sa.create_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def sample():
    return sample_partitions()
