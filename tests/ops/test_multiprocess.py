"""The multiprocess executor: one partition of a department's load job with every step in a process of its
own, two at a time, lands exactly what the in-process executor lands. (A small department keeps it quick:
every step process imports the whole code location, Great Expectations included. Several partitions at once through the run queue are tested
end to end in test_e2e.py.)"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from lake import lake_inventory
from stack import snapshot_sample

from jilin_pipelines.definitions import build_definitions
from jilin_pipelines.defs.automation import load_job_name
from jilin_pipelines.settings import Settings

DAY = "2025-06-03"
JOB = load_job_name("municipal")  # two datasets (XML, UTF-8 CSV): two step processes at once
HERE = Path(__file__).parent


def multiprocess_job() -> dg.JobDefinition:
    """The job with the multiprocess executor; rebuilt in every step process from the environment."""
    return build_definitions().resolve_job_def(JOB).with_executor_def(dg.multiprocess_executor)


def _env(root, sources) -> dict[str, str]:
    return {"JILIN_SOURCES_DIR": str(sources), "JILIN_DATA_DIR": str(root / "data"), "DAGSTER_HOME": str(root / "home")}


@pytest.mark.slow
def test_the_multiprocess_executor_lands_what_in_process_lands(tmp_path, monkeypatch):
    sources = snapshot_sample(tmp_path / "sample_sources")  # both executors read the very same files
    reference = Settings.from_env(_env(tmp_path / "in_process", sources))
    job = build_definitions(reference).resolve_job_def(JOB)
    with dg.DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(partition_key=DAY, instance=instance).success

    for key, value in _env(tmp_path / "multiprocess", sources).items():
        monkeypatch.setenv(key, value)  # the step processes read their settings from the environment
    (tmp_path / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "instance")) as instance:
        with dg.execute_job(
            # by module and function from this folder: pytest imports test modules from their folder
            dg.build_reconstructable_job(
                __name__, multiprocess_job.__name__, reconstructor_working_directory=str(HERE)
            ),
            instance=instance,
            tags={"dagster/partition": DAY},
            run_config={"execution": {"config": {"max_concurrent": 2}}},
        ) as result:
            assert result.success
            starts = [e for e in result.all_events if e.event_type_value == "STEP_START"]
            step_pids = {e.pid for e in starts}
            assert len(starts) == len(job.asset_layer.executable_asset_keys)
            assert len(step_pids) == len(starts), "every step ran in a process of its own"
            assert result.dagster_run.tags["dagster/partition"] == DAY

    landed = lake_inventory(tmp_path / "multiprocess" / "data")
    assert len(landed) == len(starts)
    assert landed == lake_inventory(reference.data_dir)


def test_jilin_executor_chooses_the_code_locations_executor(tmp_path):
    env = _env(tmp_path, tmp_path / "sources")
    assert build_definitions(Settings.from_env(env)).resolve_job_def(JOB).executor_def.name == "in_process"
    chosen = build_definitions(Settings.from_env({**env, "JILIN_EXECUTOR": "multiprocess"}))
    assert chosen.resolve_job_def(JOB).executor_def.name == "multiprocess"
    assert chosen.resolve_job_def("main").executor_def.name == "multiprocess"  # every job of the location
    with pytest.raises(ValueError, match="JILIN_EXECUTOR"):
        Settings.from_env({**env, "JILIN_EXECUTOR": "celery"})
    try:
        import dagster_k8s  # noqa: F401 - in the image (deploy/Dockerfile), not in the lock
    except ImportError:
        with pytest.raises(ImportError):
            build_definitions(Settings.from_env({**env, "JILIN_EXECUTOR": "k8s"}))
    else:
        k8s = build_definitions(Settings.from_env({**env, "JILIN_EXECUTOR": "k8s"}))
        assert k8s.resolve_job_def(JOB).executor_def.name == "k8s"
