"""Lawful sharing on the full sample run (the session's ``sample_run``): no personal value of the sample — ID
number, name, phone — is left unmasked in anything the run leaves behind for people to read: the Dagster instance
(event log with all metadata, run records, compute logs), the OpenLineage events, the run's console output, the
scorecard reports and the alerts. And the exchange audit log holds a read entry per scenario and base table, and
its hash chain verifies."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from jilin_pipelines.cli import main
from jilin_pipelines.privacy.audit import verify
from jilin_pipelines.scenarios import SCENARIOS


def text_of(paths: list[Path]) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", errors="ignore") for p in paths)


def leaked_values(secrets: set[str], text: str) -> set[str]:
    """The secrets that occur in ``text`` — what testing each secret with ``in`` gives, in one pass: every occurrence
    of a secret lies within a maximal run of the secrets' own characters, so the distinct runs are found once (a
    regular expression) and their substrings of the secrets' lengths looked up."""
    alphabet = "".join(sorted({c for s in secrets for c in s}))
    lengths = sorted({len(s) for s in secrets})
    found = set()
    for run in set(re.findall(f"[{re.escape(alphabet)}]+", text)):
        for n in lengths:
            if n > len(run):
                break
            found.update(run[i:i + n] for i in range(len(run) - n + 1) if run[i:i + n] in secrets)
    return found


def test_no_personal_value_is_left_unmasked_anywhere(sample_run):
    secrets = sample_run.personal_values()
    assert len(secrets) > 500
    s = sample_run.settings
    places = {
        "the Dagster instance": [p for p in s.dagster_home.rglob("*") if p.is_file()],
        "the OpenLineage events": sorted((s.data_dir / "lineage").glob("*.jsonl")),
        "the reports": sorted((s.data_dir / "reports").rglob("*")),
        "the alerts": sorted((s.data_dir / "alerts").rglob("*")) if (s.data_dir / "alerts").exists() else [],
    }
    texts = {where: text_of([p for p in paths if p.is_file()]) for where, paths in places.items()}
    texts["the console output"] = sample_run.output
    # the places hold what they should (so that finding nothing means something)
    assert "ASSET_MATERIALIZATION" in texts["the Dagster instance"] and "ASSET_CHECK_EVALUATION" in texts[
        "the Dagster instance"]
    assert '"eventType": "COMPLETE"' in texts["the OpenLineage events"] or '"eventType":"COMPLETE"' in texts[
        "the OpenLineage events"]
    assert "<html" in texts["the reports"].lower()
    planted = sorted(secrets)[len(secrets) // 2]
    for where, text in texts.items():
        leaked = sorted(leaked_values(secrets, text))
        assert leaked == [], f"{len(leaked)} personal values unmasked in {where}, e.g. {leaked[:3]}"
        assert planted in leaked_values(secrets, f"{text[:1000]}：{planted}。{text[1000:]}")  # one would be seen


@settings(max_examples=300, deadline=None)
@given(secrets=st.sets(st.text("0123456789X张三李四王", min_size=2, max_size=6), min_size=1, max_size=20),
       text=st.text("0123456789X张三李四王ab ,", max_size=200))
def test_the_one_pass_search_finds_what_testing_each_value_finds(secrets, text):
    assert leaked_values(secrets, text) == {v for v in secrets if v in text}


def test_every_scenario_read_is_audited_and_the_chain_verifies(sample_run, capsys):
    engine = sa.create_engine(sample_run.settings.base_db_url)
    try:
        result = verify(engine)
        assert result.ok, result
        with engine.connect() as conn:
            rows = conn.execute(sa.text("select purpose, dataset, count(*) from exchange_audit "
                                        "group by purpose, dataset")).fetchall()
    finally:
        engine.dispose()
    audited = {(purpose, dataset): n for purpose, dataset, n in rows}
    for s in SCENARIOS:
        for table in s.tables():  # one read per day of the sample
            assert audited.get((s.purpose, f"base.{table}"), 0) >= 7, (s.name, table)
    assert main(["audit", "verify", "--db-url", sample_run.settings.base_db_url]) == 0
    assert "verifies" in capsys.readouterr().out
