"""A real Dagster deployment on loopback for the end-to-end tests: ``dagster-webserver`` and ``dagster-daemon``
over a fresh DAGSTER_HOME, each in its own process group, stopped by process group (SIGTERM, then SIGKILL)
so that nothing is left behind - the code servers and run workers they start included."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

from jilin_pipelines.settings import CHECKOUT

VENV_BIN = Path(sys.executable).parent
WORKSPACE = CHECKOUT / "workspace.yaml"
SAMPLE = CHECKOUT / "sample_sources"
STARTUP_TIMEOUT = 120  # seconds for the webserver to answer /server_info with the code location loaded
STOP_TIMEOUT = 10  # seconds between SIGTERM and SIGKILL


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children() -> dict[int, list[int]]:
    """ppid → pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


@dataclass
class Stack:
    """A running webserver + daemon over one DAGSTER_HOME."""

    name: str
    home: Path
    data_dir: Path
    port: int
    env: dict[str, str]
    logs: dict[str, Path] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    reports_port: int = field(default_factory=lambda: free_port())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def reports_url(self) -> str:
        return f"http://127.0.0.1:{self.reports_port}"

    def log_tail(self, which: str = "daemon", lines: int = 60) -> str:
        path = self.logs.get(which)
        if not path or not path.exists():
            return f"(no {which} log)"
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return f"--- last {lines} lines of the {which} log ({path}) ---\n" + "\n".join(text[-lines:])

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=timeout
        )
        assert response.status_code == 200, f"GraphQL HTTP {response.status_code}: {response.text[:2000]}"
        body = response.json()
        assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
        return body["data"]

    # --- lifecycle -------------------------------------------------------------------------------------

    def _spawn(self, which: str, argv: list[str]) -> None:
        log = self.home.parent / f"{which}.log"
        self.logs[which] = log
        with log.open("wb") as out:
            self.procs[which] = subprocess.Popen(
                argv,
                cwd=CHECKOUT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as one, with everything it starts
            )

    def start(self, daemon: bool = True, reports: bool = False) -> Stack:
        """Start the webserver, and the daemon (``daemon``) and the reports server at ``reports_url``
        (``reports``: what ``make ui`` starts beside them)."""
        # Create the instance's storage once, before the processes start: the webserver, the daemon and
        # their code servers would otherwise all create a fresh SQLite storage at once and can stamp its
        # schema version twice ("more than one head present"). Production does the same (the chart's
        # migration job).
        migrate = subprocess.run(
            [str(VENV_BIN / "dagster"), "instance", "migrate"],
            cwd=CHECKOUT,
            env=self.env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"dagster instance migrate failed:\n{migrate.stdout.decode()}{migrate.stderr.decode()}")
        workspace = ["-w", str(WORKSPACE)]
        self._spawn("webserver", [str(VENV_BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(self.port), *workspace])
        if daemon:
            self._spawn("daemon", [str(VENV_BIN / "dagster-daemon"), "run", *workspace])
        if reports:
            self.env["JILIN_REPORTS_URL"] = self.reports_url
            self._spawn("reports", [str(VENV_BIN / "jilin-pipelines"), "reports"])
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            for which, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{which} exited with {proc.returncode} at startup\n{self.log_tail(which)}")
            try:
                if requests.get(f"{self.url}/server_info", timeout=2).ok and self._location_loaded():
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the webserver did not come up in {STARTUP_TIMEOUT} s\n{self.log_tail('webserver')}"
                )
            time.sleep(0.5)

    def _location_loaded(self) -> bool:
        data = self.graphql(
            "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus"
            " locationOrLoadError { __typename ... on PythonError { message } } } } } }",
            timeout=10,
        )
        entries = data["workspaceOrError"]["locationEntries"]
        for entry in entries:
            error = entry["locationOrLoadError"]
            if error and error["__typename"] == "PythonError":
                raise RuntimeError(f"code location {entry['name']} failed to load: {error['message']}")
        return bool(entries) and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries)

    def stop(self) -> None:
        """SIGTERM to every process group, SIGKILL after STOP_TIMEOUT; then any stray descendant by pid."""
        pgids = {}
        strays: set[int] = set()
        for which, proc in self.procs.items():
            strays |= descendants(proc.pid)
            try:
                pgids[which] = os.getpgid(proc.pid)
            except ProcessLookupError:
                continue
            try:
                os.killpg(pgids[which], signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and any(_group_alive(g) for g in pgids.values()):
            for proc in self.procs.values():
                proc.poll()  # reap
            time.sleep(0.2)
        for pgid in pgids.values():
            if _group_alive(pgid):
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # A process that left its group (setsid) would survive killpg: end it by pid.
        for pid in strays:
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        left = [pid for pid in strays if _alive(pid)] + [g for g in pgids.values() if _group_alive(g)]
        assert not left, f"processes left behind: {left}"


def snapshot_sample(target: Path) -> Path:
    """A copy of the committed sample sources (without the generator's ground truth), so that a test reads
    the same deliveries from start to end even if the checkout's sample is regenerated meanwhile."""
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns("_ground_truth"))
    return target


def make_stack(
    name: str, root: Path, dagster_yaml: Path, extra_env: dict[str, str] | None = None, sources: Path = SAMPLE
) -> Stack:
    """A stack over a fresh DAGSTER_HOME (``dagster_yaml`` copied in) and a fresh data directory under ``root``,
    reading the deliveries in ``sources`` (default: the committed sample)."""
    home = root / "dagster_home"
    home.mkdir(parents=True)
    shutil.copyfile(dagster_yaml, home / "dagster.yaml")
    data = root / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JILIN_", "DAGSTER_"))}
    env.update(
        {
            "DAGSTER_HOME": str(home),
            "JILIN_SOURCES_DIR": str(sources),
            "JILIN_DATA_DIR": str(data),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
    )
    return Stack(name=name, home=home, data_dir=data, port=free_port(), env=env)


@contextmanager
def fresh_database(pg_url: str) -> Iterator[str]:
    """A new, empty database ``dagster_test_<uuid>`` on the real server, dropped afterwards (connections and
    all). Yields its URL with the driver named (``postgresql+psycopg2``), as DAGSTER_PG_URL wants it."""
    name = f"dagster_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(pg_url).set(drivername="postgresql+psycopg2", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
