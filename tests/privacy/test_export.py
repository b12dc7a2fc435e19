"""Pseudonymised exports: personal columns leave as HMAC-SHA-256 pseudonyms under the configured key (joinable,
not readable), every export is entered in the audit log, and production refuses to export without a key."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from jilin_pipelines.cli import main
from jilin_pipelines.privacy.audit import verify

KEY = "k" * 40
DAY = date(2025, 6, 2)
CONSUMER = "human_resources_social_security"  # the approval scenario's declared consumer


def test_export_pseudonymises_the_personal_columns_and_is_audited(sample_run, tmp_path, monkeypatch, capsys):
    db = tmp_path / "base.sqlite"
    shutil.copy(sample_run.settings.base_db_url.removeprefix("sqlite:///"), db)
    url = f"sqlite:///{db}"
    engine = sa.create_engine(url)
    original = pd.read_sql(sa.text("select * from social_security_approval where partition = :d order by source_row"),
                           engine, params={"d": DAY.isoformat()})
    with engine.connect() as conn:
        before = conn.execute(sa.text("select count(*) from exchange_audit")).scalar_one()

    monkeypatch.setenv("JILIN_PSEUDONYM_KEY", KEY)
    out = tmp_path / "approvals.parquet"
    assert main(["export", "social_security_approval", "--day", DAY.isoformat(), "--out", str(out),
                 "--consumer", CONSUMER, "--db-url", url]) == 0
    assert "pseudonymised: id_number" in capsys.readouterr().out
    exported = pd.read_parquet(out).sort_values("source_row").reset_index(drop=True)
    assert len(exported) == len(original) > 100
    expected = [None if v is None else hmac.new(KEY.encode(), v.encode(), hashlib.sha256).hexdigest()
                for v in original["id_number"]]
    assert exported["id_number"].astype(object).where(exported["id_number"].notna(), None).tolist() == expected
    assert exported["decision"].tolist() == original["decision"].tolist()
    raw = out.read_bytes()
    assert not any(v.encode() in raw for v in original["id_number"].dropna())

    audit = pd.read_sql("select * from exchange_audit order by id", engine)
    assert len(audit) == before + 1
    last = audit.iloc[-1]
    assert (last["consumer"], last["purpose"], last["dataset"], last["record_count"]) == (
        CONSUMER, "social_security_approval", "export.social_security_approval", len(original))
    assert verify(engine).ok
    engine.dispose()


def test_production_refuses_to_export_without_a_key(sample_run, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JILIN_ENV", "production")
    monkeypatch.delenv("JILIN_PSEUDONYM_KEY", raising=False)
    out = tmp_path / "x.parquet"
    assert main(["export", "social_security_approval", "--day", DAY.isoformat(), "--out", str(out),
                 "--consumer", CONSUMER, "--db-url", sample_run.settings.base_db_url]) == 2
    assert "JILIN_PSEUDONYM_KEY" in capsys.readouterr().err and not out.exists()


def _audit_count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("select count(*) from exchange_audit")).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("scenario", "day", "consumer", "message"),
    [("certificate_verification", DAY.isoformat(), "transport",
      "declared for the consumer 'jishiban', not 'transport'"),
     ("social_security_approval", "2025-05-01", CONSUMER, "no decisions for 2025-05-01")],
    ids=["another-consumer", "a-day-without-decisions"],
)
def test_a_refused_export_writes_and_audits_nothing(sample_run, tmp_path, monkeypatch, capsys, scenario, day,
                                                     consumer, message):
    db = tmp_path / "base.sqlite"
    shutil.copy(sample_run.settings.base_db_url.removeprefix("sqlite:///"), db)
    url = f"sqlite:///{db}"
    before = _audit_count(url)
    monkeypatch.setenv("JILIN_PSEUDONYM_KEY", KEY)
    out = tmp_path / "refused.parquet"
    assert main(["export", scenario, "--day", day, "--out", str(out), "--consumer", consumer, "--db-url", url]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and _audit_count(url) == before  # nothing written, nothing audited
