"""The ``settings`` resource carries every setting of ``Settings`` (declared once, there): what a Dagster step gets
from it is the ``Settings`` the code location was loaded with — the provider registry, the audit anchor, the
partitions and the engine included — and a secret travels as its environment variable, not as its value."""

from pathlib import Path

import dagster as dg

from jilin_pipelines.defs.resources import SECRETS, PipelineSettings
from jilin_pipelines.settings import Settings


def test_a_step_gets_the_settings_the_location_was_loaded_with(tmp_path, monkeypatch):
    (tmp_path / "registry.yaml").write_text("providers: []\n", encoding="utf-8")
    env = {
        "JILIN_SOURCES_DIR": str(tmp_path / "sources"), "JILIN_DATA_DIR": str(tmp_path / "data"),
        "JILIN_SOURCES_API_URL": "http://127.0.0.1:9", "JILIN_SOURCES_API_TOKEN": "token-secret",
        "JILIN_PSEUDONYM_KEY": "pseudonym-secret", "JILIN_AUDIT_KEY": "audit-secret",
        "JILIN_AUDIT_ANCHOR": str(tmp_path / "anchor.jsonl"), "JILIN_PROVIDERS": str(tmp_path / "registry.yaml"),
        "JILIN_PARTITIONS_START": "2024-01-01", "JILIN_PARTITIONS_END": "2024-01-31",
        "JILIN_ENGINE": "spark", "JILIN_SPARK_MASTER": "spark://cluster:7077", "JILIN_EXECUTOR": "multiprocess",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    loaded = Settings.from_env(env)
    assert loaded.providers_file == tmp_path / "registry.yaml" and loaded.audit_key == "audit-secret"

    resource = PipelineSettings.from_settings(loaded)
    for name in SECRETS:  # the definitions hold the variable's name, never the secret
        assert isinstance(getattr(resource, name), dg.EnvVar), name
    assert "secret" not in repr(resource)
    with dg.build_resources({"settings": resource}) as resources:
        assert resources.settings.get() == loaded
    assert isinstance(resources.settings.get().audit_anchor, Path)
