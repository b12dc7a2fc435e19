"""``generate``: write a complete, deterministic sources directory with its ground truth.

Output under ``out`` (see ``sources/SPEC.md`` for the deliveries)::

    traffic_police/motor_vehicles/motor_vehicles_YYYYMMDD.csv            CSV, GBK
    traffic_police/violations/violations_YYYYMMDD.csv                    CSV, GBK
    traffic_police/video_points/video_points_YYYYMMDD.xml                XML, UTF-8
    traffic_police/driving_licences/driving_licences_YYYYMMDD.jsonl      API dataset, one item per line
    transport/road_transport_permits/road_transport_permits_YYYYMMDD.xlsx  sheet 道路运输证
    transport/practitioner_qualifications/practitioner_qualifications_YYYYMMDD.jsonl
    municipal/construction_permits/construction_permits_YYYYMMDD.xml
    municipal/urban_cases/urban_cases_YYYYMMDD.csv                       CSV, UTF-8 with BOM
    social_security/exchange.sqlite                                      SI_EMPLOYER, SI_INSURED, SI_BENEFIT
    social_security/assistance_applications/assistance_applications_YYYYMMDD.jsonl
    jishiban/verification_requests/verification_requests_YYYYMMDD.jsonl
    _ground_truth/manifest.jsonl       one line per injected problem (vocabulary: ``problems.PROBLEMS``)
    _ground_truth/clean/<department>.<dataset>.parquet   the truth of every delivered row + day, source_row
    _ground_truth/world/*.parquet      the world model (see ``World.world_tables``)
    _ground_truth/summary.json         rows per dataset and day, problems per kind, rates, seed

Manifest lines: ``{"dataset", "day", "source_row", "field", "problem", "repairable"}``; ``source_row`` is the
row's 1-based position in the delivery (data row of CSV/XLSX, element of XML, line of JSON Lines, position in
the day's ordered query of the front-end database), null for file-level problems; ``field`` is the source
column (``householdIdNumbers[i]`` for one element of the list), null for row- and file-level problems.

Clean values are canonical text: ID numbers 18 characters upper case, USCCs upper case, dates ``YYYY-MM-DD``
(also ``AAC006``), times ``YYYY-MM-DD HH:MM:SS``, names trimmed with ``·``, current division codes, plates upper
case without spaces, amounts with at most two decimals and no trailing zeros, ``householdIdNumbers`` as compact
JSON. For a row whose problems are all repairable, a perfect standardisation gives exactly the clean row; for
the others the clean row is the truth the department meant.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from jilin_tools.sample import codes
from jilin_tools.sample.datasets import (
    FILE_MISSING_SINGLE_DAY,
    FILE_PROBLEMS,
    SPECS,
    SQLITE_TYPES,
    DatasetSpec,
)
from jilin_tools.sample.problems import (
    PROBLEMS,
    duplicate_positions,
    inject,
    validate_rates,
)
from jilin_pipelines.providers import REGISTRY_FILE
from jilin_tools.sample.providers import assign, layout_providers, local_rows, write_layout_registry
from jilin_tools.sample.util import rng_for
from jilin_tools.sample.world import COLUMNS, DATASETS, KEYS, World
from jilin_pipelines.standards import validate_division
from jilin_tools.sample.writers import (
    FrontEndDatabase,
    csv_text,
    jsonl_text,
    truncate_csv,
    write_bytes,
    write_xlsx,
    xml_text,
)

# A data gap (``gap``): the column naming the person each dataset's row is about, for the datasets a gap may empty
PERSON_ID_COLUMN = {
    "social_security.insured_persons": "AAC002",
    "social_security.benefit_payments": "AAC002",
    "traffic_police.driving_licences": "sfzmhm",
    "transport.practitioner_qualifications": "idNumber",
}
DEFAULT_GAP_DATASETS = ("social_security.insured_persons", "social_security.benefit_payments")

DEFAULT_START = date(2025, 6, 2)
DEFAULT_DAYS = 7
DEFAULT_SCALE = 1000
DEFAULT_SEED = 20250602
GROUND_TRUTH = "_ground_truth"
MANIFEST_COLUMNS = ("dataset", "day", "source_row", "field", "problem", "repairable")


@dataclass
class GenerationSummary:
    """What was written: rows per dataset and day, problems per kind, and the parameters."""

    out: Path
    start: date
    days: int
    scale: int
    seed: int
    rates: dict[str, float]
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # dataset -> day -> delivered rows
    problems: dict[str, int] = field(default_factory=dict)  # problem -> manifest lines
    files: int = 0

    @property
    def total_rows(self) -> int:
        return sum(sum(d.values()) for d in self.rows.values())

    def as_json(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "days": self.days,
            "scale": self.scale,
            "seed": self.seed,
            "rates": dict(sorted(self.rates.items())),
            "files": self.files,
            "total_rows": self.total_rows,
            "rows": {k: dict(sorted(v.items())) for k, v in sorted(self.rows.items())},
            "problems": dict(sorted(self.problems.items())),
        }

    def __str__(self) -> str:
        return (f"{self.total_rows} rows in {self.files} files, {sum(self.problems.values())} injected problems "
                f"({len(self.problems)} kinds), days {self.start} +{self.days}, scale {self.scale}, seed {self.seed}")


def generate(
    out: Path,
    start: date = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    scale: int = DEFAULT_SCALE,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
    *,
    rates: Mapping[str, float] | None = None,
    state: int | None = None,
    daily_share: float = 0.01,
    gap: tuple[str, tuple[str, ...]] | None = None,
    providers: str | None = None,
) -> GenerationSummary:
    """Write a sources directory in the layout and formats of ``sources/SPEC.md`` under ``out``.

    * days ``start`` … ``start + days - 1`` (partition days, Asia/Shanghai);
    * ``scale`` is the mean number of delivered rows per day over all datasets (the first day carries the
      initial state and so more, later days fewer);
    * ``seed``: the same arguments give byte-identical files;
    * ``rates``: problem name -> rate, overriding :data:`~jilin_tools.sample.problems.DEFAULT_RATES`;
    * ``state``: a long history instead — an initial state of about ``state`` records on the first day, then each
      day new and changed register records and event records of about ``daily_share`` of it each (so about
      2 x ``daily_share`` of the keys move a day), plus the unchanged re-deliveries (``rates["redelivery"]``);
      ``scale`` is then ignored.
    * ``gap``: (county, datasets) — a data gap: those datasets (of :data:`PERSON_ID_COLUMN`) deliver none of the rows
      about the people whose ID address code is (or was, before it was retired) that county's GB/T 2260 code; the
      world is the same as without it, so the people still apply, drive and get certificates. The fairness audit
      should see it (``fairness/<scenario>``).
    * ``providers``: a multi-provider layout (``sample/providers.py``: ``counties``) — the datasets local by nature
      are delivered by the cities and counties, each its own rows in its own folder, with the registry
      ``out/providers.yaml``; the ground truth's rows then name their ``provider`` and their row in its file.

    The ground truth goes to ``out/_ground_truth/`` (``manifest.jsonl``, ``clean/*.parquet``, ``world/*.parquet``,
    ``summary.json``); the pipeline never reads it. Earlier output in ``out`` (the dataset folders, the
    exchange database and the ground truth) is replaced; other files there are left alone.

    ``source_row`` of the front-end database is the row's 1-based position among the rows whose ``AAE036`` falls
    on the day, ``ORDER BY <key columns>, rowid`` (keys: SI_EMPLOYER ``AAB001``; SI_INSURED ``AAC002, AAE140,
    AAB001``; SI_BENEFIT ``AAC002, AAE140, AAE002``), text compared byte-wise, nulls first.
    """
    out = Path(out)
    say = progress or (lambda _msg: None)
    rates_ = validate_rates(rates)
    gap_of = _gap(gap)  # refused before anything is cleared
    registry = layout_providers(providers) if providers else []
    _clear(out)
    if registry:
        write_layout_registry(out, registry)
    local = {d for p in registry for d in p.datasets}
    file_problems = _file_problem_days(days)
    late = frozenset(k for k, p in file_problems.items() if p in ("file_missing", "file_header_only"))
    say(f"building the world for {days} days from {start}, about {scale} rows a day")
    if state is not None:
        if state < 1000 or not 0 < daily_share < 1:
            raise ValueError("a history needs a state of at least 1000 records and a daily share between 0 and 1")
        scale = max(50, round(state * daily_share * 2))
    world = World(start, days, scale, seed, rates_["id_retired_division_code"], rates_["redelivery"], late,
                  state_rows=state, daily_share=daily_share)
    retired_codes = frozenset(codes.RETIRED_SUCCESSORS)
    summary = GenerationSummary(out, start, days, scale, seed, rates_)
    gt = out / GROUND_TRUTH
    db = FrontEndDatabase(out / "social_security" / "exchange.sqlite", SQLITE_TYPES)
    clean_writers: dict[str, pq.ParquetWriter] = {}
    manifest: list[pd.DataFrame] = []
    incons: list[pd.DataFrame] = []
    carried: dict[str, pd.DataFrame] = {}
    done = False
    try:
        for d in range(days):
            day = start + timedelta(days=d)
            ymd = day.strftime("%Y%m%d")
            truths = world.deliveries(d)
            for dataset in DATASETS:
                spec = SPECS[dataset]
                truth = truths.pop(dataset)()
                if dataset in gap_of:
                    truth = truth[~gap_of[dataset](truth)].reset_index(drop=True)
                if dataset in carried:  # the rows of a day without a usable file follow the next day
                    truth = pd.concat([carried.pop(dataset), truth], ignore_index=True)
                problem = file_problems.get((dataset, d))
                if problem in ("file_missing", "file_header_only"):
                    if d + 1 < days:
                        carried[dataset] = truth
                    manifest.append(_manifest_frame(dataset, day, np.array([], dtype=np.int64), [], [], file_problem=problem))
                    if problem == "file_header_only":
                        for code in sorted(p.code for p in registry if dataset in p.datasets) or [None]:
                            _write_file(out, spec, ymd, truth.iloc[:0], problem, code)
                            summary.files += 1
                    summary.rows.setdefault(dataset, {})[day.isoformat()] = 0
                    say(f"{day} {dataset}: {problem}")
                    continue
                rows = _deliver(spec, day, truth, problem, rates_, rng_for(seed, "inject", dataset, d), retired_codes)
                if dataset in local:
                    summary.files += _write_providers(out, spec, ymd, rows, problem, registry)
                manifest.append(rows.manifest)
                if rows.inconsistencies is not None:
                    incons.append(rows.inconsistencies)
                if spec.format == "sqlite":
                    db.append(spec.table, COLUMNS[dataset], rows.delivered)
                elif dataset not in local:
                    _write_file(out, spec, ymd, rows.delivered, problem)
                    summary.files += 1
                _write_clean(clean_writers, gt / "clean" / f"{dataset}.parquet", rows.clean)
                summary.rows.setdefault(dataset, {})[day.isoformat()] = len(rows.delivered)
                say(f"{day} {dataset}: {len(rows.delivered)} rows")
        done = True
    finally:
        db.close(index=done)
        for w in clean_writers.values():
            w.close()
    summary.files += 1  # the exchange database
    _write_ground_truth(gt, world, manifest, incons, summary)
    return summary


@dataclass
class _Rows:
    """One (dataset, day) delivery: the delivered rows, their clean truth, the manifest lines and the
    deliberate inconsistencies, all by source_row."""

    delivered: pd.DataFrame
    clean: pd.DataFrame
    manifest: pd.DataFrame
    inconsistencies: pd.DataFrame | None


def _deliver(spec: DatasetSpec, day: date, truth: pd.DataFrame, problem: str | None, rates: Mapping[str, float],
             rng: np.random.Generator, retired_codes: frozenset[str]) -> _Rows:
    """Inject the value problems, insert exact duplicates, put the rows in delivery order (the front-end
    database: its query order) and say where every problem went."""
    dataset = spec.name
    columns = list(COLUMNS[dataset])
    injected = inject(truth[columns], spec.fields, rates, rng, day, utf8=spec.utf8, retired_id_codes=retired_codes)
    order, is_copy = duplicate_positions(len(truth), ~injected.dirty, rates["duplicate_in_file"], rng)
    delivered = injected.delivered.iloc[order].reset_index(drop=True)
    if spec.format == "sqlite":
        sort = _db_order(delivered, KEYS[dataset])
        order, is_copy, delivered = order[sort], is_copy[sort], delivered.iloc[sort].reset_index(drop=True)
    source_row = np.arange(1, len(order) + 1)
    # value problems sit at the first delivered position of their truth row (a copy is of a clean row)
    first_pos = np.full(len(truth), -1, dtype=np.int64)
    orig = np.flatnonzero(~is_copy)
    first_pos[order[orig]] = source_row[orig]
    vp = injected.problems
    kind = truth["_kind"].to_numpy(dtype=object)[order]
    redelivered = source_row[(kind == "redelivery") & ~is_copy]
    copies = source_row[is_copy]
    truncated = np.array([len(order)] if problem == "file_truncated" and len(order) else [], dtype=np.int64)
    rows = np.concatenate([first_pos[vp["row"].to_numpy(dtype=np.int64)], redelivered, copies, truncated])
    fields = np.concatenate([vp["field"].to_numpy(dtype=object), np.full(len(rows) - len(vp), None, dtype=object)])
    problems = np.concatenate([vp["problem"].to_numpy(dtype=object), np.full(len(redelivered), "redelivery", dtype=object),
                               np.full(len(copies), "duplicate_in_file", dtype=object),
                               np.full(len(truncated), "row_truncated", dtype=object)])
    manifest = _manifest_frame(dataset, day, rows, fields, problems, file_problem=problem)
    incons = None
    if "_incons" in truth.columns:
        inc = truth["_incons"].to_numpy(dtype=object)[order]
        has = np.flatnonzero(pd.notna(inc))
        if len(has):
            incons = pd.DataFrame({"dataset": dataset, "day": day.isoformat(), "source_row": source_row[has], "kind": inc[has]})
    clean = _canonical(dataset, truth[columns].iloc[order].reset_index(drop=True))
    clean["day"] = day.isoformat()
    clean["source_row"] = source_row.astype(np.int64)
    return _Rows(delivered, clean, manifest, incons)


def _gap(gap: tuple[str, tuple[str, ...]] | None) -> dict[str, Callable[[pd.DataFrame], np.ndarray]]:
    """Per dataset of the gap, the rows it leaves out (people of the county, by their ID's current county)."""
    if gap is None:
        return {}
    county, datasets = gap
    checked = validate_division(pd.Series([county]), to_current=True)
    if not checked.valid.iloc[0]:
        raise ValueError(f"gap: {county!r} is no GB/T 2260 code in force")
    unknown = sorted(set(datasets) - set(PERSON_ID_COLUMN))
    if unknown or not datasets:
        raise ValueError(f"gap: datasets must be among {', '.join(PERSON_ID_COLUMN)}; got {', '.join(unknown) or 'none'}")
    current = str(checked.value.iloc[0])

    def people_of_county(column: str) -> Callable[[pd.DataFrame], np.ndarray]:
        def rows(truth: pd.DataFrame) -> np.ndarray:
            codes = truth[column].astype("string").str[:6]
            return (validate_division(codes, to_current=True).value == current).fillna(False).to_numpy(bool)
        return rows

    return {d: people_of_county(PERSON_ID_COLUMN[d]) for d in datasets}


def _clear(out: Path) -> None:
    for spec in SPECS.values():
        target = out / spec.department / (spec.short if spec.format != "sqlite" else "exchange.sqlite")
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    if (out / GROUND_TRUTH).exists():
        shutil.rmtree(out / GROUND_TRUTH)
    (out / REGISTRY_FILE).unlink(missing_ok=True)


def _file_problem_days(days: int) -> dict[tuple[str, int], str]:
    out = {}
    for problem, dataset, preferred in FILE_PROBLEMS:
        if problem == "file_missing" and days == 1:
            dataset = FILE_MISSING_SINGLE_DAY
        out[(dataset, min(preferred, days - 1))] = problem
    return out


def _db_order(frame: pd.DataFrame, keys: tuple[str, ...]) -> np.ndarray:
    """Positions in ``ORDER BY keys, rowid`` order (rows inserted in frame order): nulls first, text by code
    point (= SQLite's byte-wise BINARY collation on UTF-8), ties in insertion order."""
    if not len(frame):
        return np.zeros(0, dtype=np.int64)
    # null -> "" sorts before any value ("\x01" + text); numpy's fixed-width unicode compares code points
    cols = [np.where(frame[k].isna().to_numpy(), "", "\x01" + frame[k].fillna("").astype(str).to_numpy(dtype=object)).astype(str)
            for k in keys]
    return np.lexsort(cols[::-1]).astype(np.int64)


def _write_providers(out: Path, spec: DatasetSpec, ymd: str, rows: _Rows, problem: str | None,
                     registry: list) -> int:
    """Write a day's rows of a dataset of many providers, each provider's own (by the division they are about) in
    its folder — a file for every provider, empty when it has no row — and renumber the ground truth's rows as
    (provider, row in its file). A file problem strikes the provider of the day's last row (a cut-off row is the
    last of its file). Returns the files written."""
    mine = sorted(p.code for p in registry if spec.name in p.datasets)
    owner = assign(spec.name, rows.clean, registry)
    local = local_rows(owner)
    struck = owner[-1] if len(owner) else None
    for code in mine:
        _write_file(out, spec, ymd, rows.delivered[owner == code], problem if code == struck else None, code)

    def renumber(frame: pd.DataFrame) -> None:
        at = frame["source_row"].to_numpy(dtype="float64")
        has = ~np.isnan(at)
        pos = np.where(has, at, 1).astype(np.int64) - 1
        frame["provider"] = np.where(has, owner[pos] if len(owner) else None, struck)
        renumbered = pd.array(np.where(has, local[pos] if len(local) else 0, 0), dtype="Int64")
        renumbered[~has] = pd.NA
        frame["source_row"] = renumbered

    renumber(rows.manifest)
    renumber(rows.clean)
    if rows.inconsistencies is not None:
        renumber(rows.inconsistencies)
    return len(mine)


def _write_file(out: Path, spec: DatasetSpec, ymd: str, frame: pd.DataFrame, problem: str | None,
                provider: str | None = None) -> None:
    path = out / spec.relpath(ymd)
    if provider is not None:  # one of many providers: its own folder
        path = path.parent / provider / path.name
    columns = COLUMNS[spec.name]
    if spec.format == "csv":
        text = csv_text(frame[list(columns)])
        if problem == "file_truncated" and len(frame):
            text = truncate_csv(text)
        encoding = "utf-8" if problem == "file_wrong_encoding" else spec.encoding
        write_bytes(path, text.encode(encoding))
    elif spec.format == "xlsx":
        write_xlsx(path, spec.sheet or "Sheet1", columns, frame)
    elif spec.format == "xml":
        attrs = {"ContractPrice": 'unit="万元"'} if spec.name == "municipal.construction_permits" else None
        write_bytes(path, xml_text(spec.root_tag, spec.row_tag, columns, frame, attrs).encode("utf-8"))
    elif spec.format == "jsonl":
        write_bytes(path, jsonl_text(columns, frame, spec.json_ints).encode("utf-8"))
    else:  # pragma: no cover
        raise ValueError(spec.format)


def _canonical(dataset: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The truth in canonical text: what a perfect standardisation of the delivered row gives."""
    out = frame.copy()
    if dataset == "social_security.insured_persons":
        s = out["AAC006"].astype(str)
        out["AAC006"] = s.str[0:4] + "-" + s.str[4:6] + "-" + s.str[6:8]
    if dataset == "social_security.assistance_applications":
        out["householdIdNumbers"] = [json.dumps(list(x), ensure_ascii=False, separators=(",", ":")) for x in out["householdIdNumbers"]]
    return out


def _write_clean(writers: dict[str, pq.ParquetWriter], path: Path, frame: pd.DataFrame) -> None:
    fields = [pa.field(c, pa.string()) for c in frame.columns if c != "source_row"] + [pa.field("source_row", pa.int64())]
    schema = pa.schema(fields)
    table = pa.Table.from_pandas(frame[[f.name for f in fields]], schema=schema, preserve_index=False).replace_schema_metadata(None)
    key = str(path)
    if key not in writers:
        path.parent.mkdir(parents=True, exist_ok=True)
        writers[key] = pq.ParquetWriter(path, schema.remove_metadata(), compression="zstd")
    writers[key].write_table(table)


def _manifest_frame(dataset: str, day: date, rows, fields, problems, file_problem: str | None) -> pd.DataFrame:
    frame = pd.DataFrame({"source_row": pd.array(np.asarray(rows, dtype=np.int64), dtype="Int64"),
                          "field": np.asarray(fields, dtype=object), "problem": np.asarray(problems, dtype=object)})
    if file_problem:
        frame = pd.concat([frame, pd.DataFrame({"source_row": pd.array([None], dtype="Int64"), "field": [None],
                                                "problem": [file_problem]})], ignore_index=True)
    frame.insert(0, "day", day.isoformat())
    frame.insert(0, "dataset", dataset)
    return frame


def _write_ground_truth(gt: Path, world: World, manifest: list[pd.DataFrame], incons: list[pd.DataFrame],
                        summary: GenerationSummary) -> None:
    gt.mkdir(parents=True, exist_ok=True)
    man = pd.concat(manifest, ignore_index=True)
    man["repairable"] = man["problem"].map(lambda p: PROBLEMS[p].repairable)
    man["_field_sort"] = man["field"].fillna("")
    by = ["dataset", "day", *(["provider"] if "provider" in man.columns else []), "source_row", "_field_sort", "problem"]
    man = man.sort_values(by, na_position="first", kind="stable")
    man = man.drop(columns="_field_sort")
    # one JSON object per line, built column-wise (the values are plain: names, digits, booleans)
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    field = man["field"].to_numpy(dtype=object)
    field_json = np.array(["null" if not isinstance(f, str) else dumps(f) for f in field], dtype=object)
    row_json = man["source_row"].astype(object).where(man["source_row"].notna(), "null").astype(str).to_numpy(dtype=object)
    provider = (man["provider"].to_numpy(dtype=object) if "provider" in man.columns
                else np.full(len(man), None, dtype=object))  # a dataset of many providers: whose file
    provider_json = np.array([', "provider": ' + dumps(p) if isinstance(p, str) else "" for p in provider], dtype=object)
    lines = ('{"dataset": "' + man["dataset"].to_numpy(dtype=object) + '", "day": "' + man["day"].to_numpy(dtype=object)
             + '"' + provider_json + ', "source_row": ' + row_json + ', "field": ' + field_json + ', "problem": "' + man["problem"].to_numpy(dtype=object)
             + '", "repairable": ' + np.where(man["repairable"].to_numpy(dtype=bool), "true", "false").astype(object) + "}\n")
    (gt / "manifest.jsonl").write_text("".join(lines.tolist()), encoding="utf-8")
    summary.problems = {k: int(v) for k, v in man["problem"].value_counts().sort_index().items()}
    world_dir = gt / "world"
    world_dir.mkdir(parents=True, exist_ok=True)
    tables = world.world_tables()
    tables["inconsistencies"] = (pd.concat(incons, ignore_index=True) if incons
                                 else pd.DataFrame({"dataset": [], "day": [], "source_row": [], "kind": []}))
    for name, frame in sorted(tables.items()):
        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False).replace_schema_metadata(None)
        pq.write_table(table, world_dir / f"{name}.parquet", compression="zstd")
    (gt / "summary.json").write_text(json.dumps(summary.as_json(), ensure_ascii=False, indent=2, sort_keys=False) + "\n",
                                     encoding="utf-8")
