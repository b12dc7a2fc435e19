"""The fairness audit end to end on generated worlds: the sample generator with and without a data gap
(``--gap COUNTY``: social security delivers nothing about that county's people), the base merged from the
deliveries' truth, the social assistance scenario decided day by day, then audited.

The county is the one with the most applicants (read from the generator's world model), so that it has support; the
same seed without the gap is the same world, every difference is the gap's.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "base"))

from base_testkit import sample_partitions  # noqa: E402

from jilin_pipelines.base import merge_partitions, upgrade  # noqa: E402
from jilin_pipelines.fairness import describe, run_fairness, stored  # noqa: E402
from jilin_tools.sample import generate  # noqa: E402
from jilin_tools.sample.generator import DEFAULT_GAP_DATASETS  # noqa: E402
from jilin_pipelines.scenarios import scenario  # noqa: E402
from jilin_pipelines.scenarios.store import run_scenario  # noqa: E402
from jilin_pipelines.standards import validate_division  # noqa: E402

SCALE, DAYS, SEED = 3000, 10, 20250602
ASSISTANCE = scenario("social_assistance_verification")


@dataclass
class World:
    root: Path
    parts: dict
    county: str  # the current code of the county with the most applicants

    @property
    def days(self) -> list[date]:
        return sorted({d for p in self.parts.values() for d in p})


def _make(root: Path, gap: str | None) -> World:
    generate(root, scale=SCALE, days=DAYS, seed=SEED, gap=(gap, DEFAULT_GAP_DATASETS) if gap else None)
    households = pd.read_parquet(root / "_ground_truth" / "world" / "households.parquet")
    codes = validate_division(households["applicantIdNumber"].str[:6], to_current=True).value
    return World(root, sample_partitions(root / "_ground_truth" / "clean"), str(codes.value_counts().index[0]))


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[str, World]:
    plain = _make(tmp_path_factory.mktemp("plain"), None)
    return {"plain": plain, "gap": _make(tmp_path_factory.mktemp("gap"), plain.county)}


def _decide(world: World, url: str) -> sa.Engine:
    upgrade(url)
    engine = sa.create_engine(url)
    for day in world.days:
        merge_partitions(engine, day, {ds: p[day] for ds, p in world.parts.items() if day in p})
    applications = world.parts["social_security.assistance_applications"]
    for day in world.days:
        if day in applications:
            run_scenario(engine, ASSISTANCE, day, applications[day])
    return engine


def test_the_gap_removes_only_the_countys_people_from_the_gap_datasets(worlds):
    def clean(world, dataset):
        return pd.read_parquet(world.root / "_ground_truth" / "clean" / f"{dataset}.parquet")

    county = worlds["plain"].county
    for dataset in DEFAULT_GAP_DATASETS:
        plain, gap = clean(worlds["plain"], dataset), clean(worlds["gap"], dataset)
        of_county = validate_division(plain["AAC002"].str[:6], to_current=True).value == county
        assert of_county.sum() > 0
        in_gap = validate_division(gap["AAC002"].str[:6], to_current=True).value == county
        assert not in_gap.any(), f"{dataset}: {int(in_gap.sum())} rows about the gap county's people"
        # everyone else's rows are all there (the copies a delivery repeats aside)
        key = ["AAC002", "AAE140", "day"]
        others = plain.loc[~of_county.to_numpy(bool), key].drop_duplicates()
        assert len(others.merge(gap[key].drop_duplicates())) == len(others)
    for dataset in ("social_security.assistance_applications", "traffic_police.driving_licences"):
        pd.testing.assert_frame_equal(clean(worlds["plain"], dataset), clean(worlds["gap"], dataset))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_county_with_a_data_gap_is_flagged_and_coverage_named_as_the_cause(worlds, backend, tmp_path, request):
    world = worlds["gap"]
    url = f"sqlite:///{tmp_path / 'base.sqlite'}" if backend == "sqlite" else request.getfixturevalue("pg_schema_url")
    engine = _decide(world, url)
    result = run_fairness(engine, ASSISTANCE, world.days[-1])
    flagged = result.flagged
    assert len(flagged) >= 1
    row = flagged[(flagged["dimension"] == "county") & (flagged["window"] == "30d")].iloc[0]
    assert row["group"].split()[0] == world.county
    assert set(flagged["group"].str.split().str[0]) == {world.county}, flagged[["dimension", "group"]]
    assert row["coverage_explains"] is True
    text = describe(row)
    assert "driven by identity_unverified" in text
    assert "insured_person holds 0% of the group" in text
    # what is stored is what was computed
    back = stored(engine, ASSISTANCE.name, world.days[-1])
    assert len(back) == len(result.rows)
    assert back.set_index(["window", "dimension", "group"]).loc[("30d", "county", row["group"]), "flagged"]
    assert (back["n"] >= 10).all()
    engine.dispose()


def test_the_same_world_without_the_gap_raises_no_flag(worlds, tmp_path):
    world = worlds["plain"]
    engine = _decide(world, f"sqlite:///{tmp_path / 'base.sqlite'}")
    for day in world.days[-3:]:
        result = run_fairness(engine, ASSISTANCE, day)
        assert result.flagged.empty, result.flagged
        groups = result.rows[result.rows["dimension"] != "province"]
        assert (groups["n"] >= 10).all()
        # no personal value in the figures: groups are counties, sexes, age bands
        text = result.rows.to_json(force_ascii=False)
        ids = world.parts["social_security.assistance_applications"][day]["applicant_id_number"].dropna()
        assert not any(i in text for i in ids)
    engine.dispose()


@pytest.mark.parametrize("gap, message", [
    ("999999", "no GB/T 2260 code in force"),
    ("222426:social_security.employers", "datasets must be among"),
])
def test_the_sample_command_refuses_a_gap_it_cannot_make(gap, message, tmp_path, capsys):
    from jilin_pipelines.cli import main

    earlier = tmp_path / "out" / "traffic_police" / "motor_vehicles"
    earlier.mkdir(parents=True)
    assert main(["sample", "--out", str(tmp_path / "out"), "--days", "1", "--gap", gap]) == 2
    assert message in capsys.readouterr().err
    assert earlier.is_dir()  # refused before anything is cleared or written
