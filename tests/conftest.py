"""Fixtures shared by the whole suite.

PostgreSQL: tests marked ``postgres`` use the real server at ``JILIN_TEST_PG_URL`` (default the local
``test`` database). When it is unreachable they are skipped with a clear reason, except under CI
(``CI=true``), where an unreachable server fails the run instead of silently skipping.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

PG_URL = os.environ.get("JILIN_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(autouse=True)
def _audit_anchor_of_the_test(tmp_path, monkeypatch):
    """Each test's exchange-audit anchor file in its own directory (never the checkout's data/): an anchor written
    by one test's log must not be checked against another's."""
    if "JILIN_AUDIT_ANCHOR" not in os.environ:
        monkeypatch.setenv("JILIN_AUDIT_ANCHOR", str(tmp_path / "audit_anchors.jsonl"))


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of the real PostgreSQL server (a fresh schema is the caller's business: see ``pg_schema_url``)."""
    problem = _pg_reachable()
    if problem:
        message = f"PostgreSQL at {PG_URL} is unreachable ({problem})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " - CI requires it", pytrace=False)
        pytest.skip(message + " - PostgreSQL tests skipped")
    return PG_URL


@pytest.fixture()
def pg_schema_url(pg_url):
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))
    url = sa.engine.make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with engine.begin() as conn:
        conn.execute(sa.text(f'drop schema "{schema}" cascade'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """A fresh base database: SQLite in the test's directory, and the real PostgreSQL (a fresh schema)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'base.sqlite'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture()
def engine(db_url):
    """An engine on ``db_url``, migrated to the newest revision (SQLite waits up to 60 s for a busy writer)."""
    from jilin_pipelines.base import upgrade

    upgrade(db_url)
    eng = sa.create_engine(db_url, connect_args={"timeout": 60} if db_url.startswith("sqlite") else {})
    yield eng
    eng.dispose()


class SampleRun:
    """One ``jilin-pipelines run`` over the committed sample, shared by the tests that inspect its results
    (its database, lake, Dagster instance, OpenLineage events and logs): a full run takes minutes."""

    def __init__(self, settings, output: str):
        self.settings = settings
        self.output = output

    def personal_values(self) -> set[str]:
        """Every personal value of the sample (ID numbers, names, phones; birth dates excluded), as the generator's
        clean truth holds them: what must never appear unmasked in the run's logs, events or reports."""
        import pandas as pd

        from jilin_pipelines.catalogue import catalogue

        values: set[str] = set()
        for entry in catalogue().entries:
            personal = [f.source for f in entry.dataset.fields if f.personal and f.type.value in ("string", "json_list")]
            truth = self.settings.sources_dir / "_ground_truth" / "clean" / f"{entry.id}.parquet"
            clean = pd.read_parquet(truth, columns=personal)
            for column in personal:
                for v in clean[column].dropna().astype(str):
                    values.update(x for x in v.strip("[]").replace('"', "").split(",") if len(x.strip()) >= 2)
        return {v.strip() for v in values}


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> SampleRun:
    """Every day of ``sample_sources/`` materialised through Dagster (what ``make run`` does) into a fresh data
    directory and DAGSTER_HOME; read-only for the tests that use it."""
    import io

    from jilin_pipelines.runner import run_days
    from jilin_pipelines.settings import CHECKOUT, Settings

    root = tmp_path_factory.mktemp("sample_run")
    env = {
        "JILIN_SOURCES_DIR": str(CHECKOUT / "sample_sources"),
        "JILIN_DATA_DIR": str(root / "data"),
        "DAGSTER_HOME": str(root / "dagster_home"),
    }
    settings = Settings.from_env(env)
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        code = run_days(start=None, end=None, force=False, out=out)
    assert code == 0, out.getvalue()
    return SampleRun(settings, out.getvalue())
