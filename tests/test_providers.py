"""The provider registry (``providers.py``): loaded and validated with clear errors, the sample's layout a valid
registry of Jilin's 9 cities and 60 counties."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jilin_pipelines.providers import LEVELS, RegistryError, load_registry, registry_for
from jilin_tools.sample.providers import CITY_DATASETS, COUNTY_DATASETS, layout_providers, write_layout_registry

PROVINCE = {"code": "220000", "division": "220000", "level": "province", "name": "吉林省"}
CITY = {"code": "220100", "division": "220100", "level": "city", "name": "长春市", "parent": "220000"}
COUNTY = {"code": "220102", "division": "220102", "level": "county", "name": "南关区民政局", "parent": "220100",
          "datasets": ["social_security.assistance_applications"], "update_time": "05:30"}


def write(tmp_path: Path, providers: list[dict]) -> Path:
    path = tmp_path / "providers.yaml"
    path.write_text(yaml.safe_dump({"providers": providers}, allow_unicode=True), encoding="utf-8")
    return path


def test_a_valid_registry_loads_with_its_tree_and_datasets(tmp_path):
    registry = load_registry(write(tmp_path, [PROVINCE, CITY, COUNTY]))
    assert registry.codes("social_security.assistance_applications") == ("220102",)
    assert registry.codes("traffic_police.violations") == ()  # one provider: today's layout
    assert [p.code for p in registry.ancestors("220102")] == ["220102", "220100", "220000"]
    county = registry.providers["220102"]
    assert county.update_time_of("social_security.assistance_applications") == "05:30"
    assert registry.providers["220100"].update_time is None


@pytest.mark.parametrize(("change", "message"), [
    ({"code": "../x"}, "code '../x'"),
    ({"level": "district"}, "level 'district'"),
    ({"division": "22010"}, "a county has a 6-digit code"),
    ({"division": "999999"}, "999999 is no GB/T 2260 code"),
    ({"parent": "229900"}, "parent 229900 is not registered"),
    ({"division": "220201", "parent": "220100"}, "does not lie in its parent 220100"),
    ({"datasets": ["traffic_police.bicycles"]}, "'traffic_police.bicycles' is not in the catalogue"),
    ({"update_time": "25:00"}, "update_time '25:00'"),
    ({"name": ""}, "name is missing"),
    ({"colour": "red"}, "unknown key(s) colour"),
])
def test_a_broken_entry_is_refused_naming_the_file_and_the_entry(tmp_path, change, message):
    path = write(tmp_path, [PROVINCE, CITY, {**COUNTY, **change}])
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_a_code_twice_a_parent_below_and_a_cycle_are_refused(tmp_path):
    with pytest.raises(RegistryError, match="registered twice"):
        load_registry(write(tmp_path, [PROVINCE, CITY, CITY]))
    with pytest.raises(RegistryError, match="is a county, below this city"):
        load_registry(write(tmp_path, [PROVINCE, {**CITY, "parent": "220102"}, COUNTY]))
    a = {"code": "a", "division": "220100", "level": "city", "name": "a", "parent": "b"}
    b = {"code": "b", "division": "220100", "level": "city", "name": "b", "parent": "a"}
    with pytest.raises(RegistryError, match="cycle"):
        load_registry(write(tmp_path, [a, b]))


def test_no_registry_means_one_provider_per_dataset_and_a_configured_one_must_exist(tmp_path):
    assert registry_for(tmp_path).providers == {}
    with pytest.raises(RegistryError, match="does not exist"):
        registry_for(tmp_path, tmp_path / "elsewhere.yaml")
    with pytest.raises(RegistryError, match="not YAML"):
        (tmp_path / "providers.yaml").write_text("providers: [", encoding="utf-8")
        registry_for(tmp_path)


def test_the_sample_layout_is_the_provinces_9_cities_and_60_counties(tmp_path):
    registry = load_registry(write_layout_registry(tmp_path, layout_providers("counties")))
    levels = [p.level for p in registry.providers.values()]
    assert (levels.count("province"), levels.count("city"), levels.count("county")) == (1, 9, 60)
    assert set(levels) <= set(LEVELS)
    for dataset in COUNTY_DATASETS:
        assert len(registry.codes(dataset)) == 60
    for dataset in CITY_DATASETS:
        assert len(registry.codes(dataset)) == 9
    assert registry.providers["220102"].name == "长春市南关区"
    assert [p.level for p in registry.ancestors("220102")] == ["county", "city", "province"]


def test_a_front_end_database_per_provider_lands_each_on_its_own(tmp_path):
    """Of a front-end database dataset delivered by many providers, each provider's database is its own: beside
    the default one in a folder named by its code, or ``{provider}`` in JILIN_SOCIAL_SECURITY_DB_URL."""
    import shutil
    import sqlite3
    from datetime import date

    from jilin_pipelines.catalogue import catalogue
    from jilin_pipelines.raw import days_in_sources, frontdb_url, land_day
    from jilin_pipelines.settings import CHECKOUT, Settings
    from jilin_pipelines.sources import DeliveryError

    sources = tmp_path / "sources"
    (sources / "social_security" / "220102").mkdir(parents=True)
    (sources / "social_security" / "220103").mkdir(parents=True)
    sample_db = CHECKOUT / "sample_sources" / "social_security" / "exchange.sqlite"
    shutil.copy(sample_db, sources / "social_security" / "220102" / "exchange.sqlite")
    empty = sources / "social_security" / "220103" / "exchange.sqlite"
    shutil.copy(sample_db, empty)
    with sqlite3.connect(empty) as conn:
        conn.execute("DELETE FROM SI_EMPLOYER")
    write(sources, [PROVINCE, CITY, {**COUNTY, "datasets": ["social_security.employers"]},
                    {**COUNTY, "code": "220103", "division": "220103", "name": "宽城区",
                     "datasets": ["social_security.employers"]}])
    settings = Settings.from_env({"JILIN_SOURCES_DIR": str(sources), "JILIN_DATA_DIR": str(tmp_path / "data")})
    entry = catalogue().entry("social_security.employers")
    day = date(2025, 6, 2)
    assert day in days_in_sources(settings, [entry])
    with sqlite3.connect(sample_db) as conn:
        expected = conn.execute("SELECT COUNT(*) FROM SI_EMPLOYER WHERE substr(AAE036, 1, 10) = ?",
                                (day.isoformat(),)).fetchone()[0]
    facts = land_day(entry, day, settings).summary()
    assert expected > 0 and facts["delivered_rows"] == expected
    assert {c: f["delivered_rows"] for c, f in facts["providers"].items()} == {"220102": expected, "220103": 0}
    assert not facts["providers"]["220103"]["delivered"]

    placeholder = Settings.from_env({"JILIN_SOURCES_DIR": str(sources),
                                     "JILIN_SOCIAL_SECURITY_DB_URL": "postgresql://db/exchange_{provider}"})
    assert frontdb_url(placeholder, "220102") == "postgresql://db/exchange_220102"
    one = Settings.from_env({"JILIN_SOURCES_DIR": str(sources),
                             "JILIN_SOCIAL_SECURITY_DB_URL": "postgresql://db/exchange"})
    with pytest.raises(DeliveryError, match=r"needs \{provider\}"):
        frontdb_url(one, "220102")
