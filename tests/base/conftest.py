"""Fixtures of the base-database tests (``db_url`` and ``engine``, on SQLite and the real PostgreSQL, come from
``tests/conftest.py``): the committed sample's clean truth as standardised partitions."""

from __future__ import annotations

import pytest
from base_testkit import sample_partitions


@pytest.fixture(scope="session")
def sample():
    return sample_partitions()
