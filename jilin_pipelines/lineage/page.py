"""The lineage page: the OpenLineage events of ``<data>/lineage/openlineage.jsonl`` as one self-contained HTML page.

:func:`write_lineage_page` reads the events line by line, keeps per job only its newest event and its newest
COMPLETE (the file of a long history holds every run of every day), and writes ``<data>/reports/lineage.html``:

* a graph, inline SVG, dataset → job → dataset, laid out in columns by layer — source (the departments' files,
  APIs and databases), raw, standardised (with the quality results of the lake), base (``jilin://base``),
  scenario (``jilin://scenarios``) — with the jobs between the layers they read and write; one box per dataset
  (its namespace and name) and per job, each a link to its section;
* a section per dataset: the jobs writing and reading it, the newest run's row count and time, its version, its
  failed checks, and its columns — each output column with the input columns it comes from (the
  ``columnLineage`` facet), linked to their datasets' sections;
* a section per job: its newest run (type, time, run ID, partition), its inputs and outputs.

A dataset is one node however many runs and days name it: its facets are those of the newest event writing it (or,
for a dataset only read, the newest reading it). Nothing is fetched: no script, font or style from the network;
the page works from a file. Events carry names and types, never values (they are masked when built), and every
text is escaped all the same. Pure: no Dagster, no settings; the CLI calls :func:`write_lineage_page`.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jilin_pipelines.lineage.naming import (
    BASE_NAMESPACE,
    LAKE_NAMESPACE,
    SCENARIO_NAMESPACE,
)
from jilin_pipelines.lineage.emit import default_path
from jilin_pipelines.reports import INDEX, write_page

LAYERS = ("source", "raw", "standardised", "base", "scenario")
"""The dataset columns of the graph, left to right."""

PAGE_NAME = "lineage.html"


def page_path(data_dir: str | os.PathLike[str]) -> Path:
    """``<data>/reports/lineage.html``, where :func:`write_lineage_page` writes by default."""
    return Path(data_dir) / "reports" / PAGE_NAME


def dataset_layer(namespace: str, name: str) -> str:
    """The layer of a dataset, one of :data:`LAYERS`, from its namespace (and, in the lake, its name)."""
    if namespace == LAKE_NAMESPACE:
        return "raw" if name.startswith("raw/") else "standardised"
    if namespace == BASE_NAMESPACE:
        return "base"
    if namespace == SCENARIO_NAMESPACE:
        return "scenario"
    return "source"


# --- reading ---------------------------------------------------------------------------------------------

# Lines written by run_event + event_line start so, with the run (and its parent's job) before the job, and no
# "job" key after it: the last `"job":{"namespace":` of such a line is the event's job. Other lines are parsed.
_OUR_HEAD = re.compile(rb'\{"eventType":"([A-Z]+)","eventTime":"([^"\\]+)","producer":"urn:jilin-pipelines:')
_JOB_AT = re.compile(rb'"job":\{"namespace":"([^"\\]*)","name":"([^"\\]*)"')


@dataclass
class LatestEvents:
    """Per job ``(namespace, name)``: its newest event and its newest COMPLETE, and what the file held."""

    newest: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    complete: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    lines: int = 0  # lines read (blank ones not counted)
    unreadable: int = 0  # lines that are not a run event (torn, not JSON, no job or time)


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _head(raw: bytes, fast: bool) -> tuple[str, str, tuple[str, str], bytes | dict] | None:
    """(event type, event time, job key, the line or its parsed event) of a line, None when it is not an event."""
    if fast:
        m = _OUR_HEAD.match(raw)
        if m is not None:
            at = raw.rfind(b'"job":{"namespace":"')
            job = _JOB_AT.match(raw, at) if at >= 0 else None
            if job is not None:
                key = (job.group(1).decode("utf-8"), job.group(2).decode("utf-8"))
                return m.group(1).decode("ascii"), m.group(2).decode("ascii"), key, raw
    try:
        event = json.loads(raw)
        job = event["job"]
        key = (str(job["namespace"]), str(job["name"]))
        return str(event.get("eventType") or "OTHER"), str(event["eventTime"]), key, event
    except (ValueError, KeyError, TypeError):
        return None


def read_latest(path: str | os.PathLike[str], *, fast: bool = True) -> LatestEvents:
    """Stream the JSON Lines file; keep per job its newest event and its newest COMPLETE (by ``eventTime``, a later
    line winning a tie). Only the lines kept are parsed in full: a line of this package's own events is read by its
    head and its job (see ``_OUR_HEAD``); the kept ones are checked against their parse, and the file is read again
    parsing every line should one disagree."""
    latest = LatestEvents()
    newest: dict[tuple[str, str], tuple[datetime, int, bytes | dict]] = {}
    complete: dict[tuple[str, str], tuple[datetime, int, bytes | dict]] = {}
    with open(path, "rb") as f:
        for n, raw in enumerate(f):
            if not raw.strip():
                continue
            latest.lines += 1
            head = _head(raw, fast)
            if head is None:
                latest.unreadable += 1
                continue
            event_type, time_text, key, body = head
            try:
                when = _when(time_text)
            except ValueError:
                latest.unreadable += 1
                continue
            mark = (when, n)
            if key not in newest or mark >= newest[key][:2]:
                newest[key] = (when, n, body)
            if event_type == "COMPLETE" and (key not in complete or mark >= complete[key][:2]):
                complete[key] = (when, n, body)
    for kept, into in ((newest, latest.newest), (complete, latest.complete)):
        for key, (when, _, body) in kept.items():
            event = json.loads(body) if isinstance(body, bytes) else body
            job = event.get("job") or {}
            if (job.get("namespace"), job.get("name")) != key or _when(str(event.get("eventTime"))) != when:
                return read_latest(path, fast=False)  # a line the head misread: parse them all
            into[key] = event
    return latest


# --- the graph -----------------------------------------------------------------------------------------------


def _slug(kind: str, *parts: str) -> str:
    text = "\x1f".join(parts)
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", parts[-1]).strip("-")[:60] or "x"
    return f"{kind}-{readable}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]}"


@dataclass
class _Dataset:
    namespace: str
    name: str
    id: str
    layer: str
    writers: set[tuple[str, str]] = field(default_factory=set)
    readers: set[tuple[str, str]] = field(default_factory=set)
    # the facets of the newest event writing it (or only reading it), and that event's time, job and outputFacets
    facets: dict[str, Any] = field(default_factory=dict)
    rank: tuple[bool, bool, datetime] | None = None  # (written, has facets, event time) of the facets kept
    source_job: tuple[str, str] | None = None
    source_time: str | None = None
    output_facets: dict[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> list[dict[str, Any]]:
        fields = (self.facets.get("schema") or {}).get("fields") or []
        return [f for f in fields if isinstance(f, Mapping) and f.get("name") is not None]

    @property
    def lineage(self) -> dict[str, list[dict[str, Any]]]:
        fields = (self.facets.get("columnLineage") or {}).get("fields") or {}
        return {out: list((v or {}).get("inputFields") or []) for out, v in fields.items() if isinstance(v, Mapping)}

    def column_id(self, column: str) -> str:
        return _slug(f"{self.id}--c", column)


@dataclass
class _Job:
    namespace: str
    name: str
    id: str
    event: dict[str, Any]  # its newest COMPLETE, else its newest event: what the graph shows
    newest: dict[str, Any]  # its newest event of any type
    inputs: list[tuple[str, str]] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)
    layer: int = 1  # index of the job column: between dataset layer layer-1 and layer


def _build(latest: LatestEvents) -> tuple[dict[tuple[str, str], _Dataset], dict[tuple[str, str], _Job]]:
    datasets: dict[tuple[str, str], _Dataset] = {}
    jobs: dict[tuple[str, str], _Job] = {}
    for key, newest in latest.newest.items():
        event = latest.complete.get(key, newest)
        jobs[key] = _Job(key[0], key[1], _slug("job", *key), event, newest)
    for key, job in sorted(jobs.items(), key=lambda kv: _when(str(kv[1].event.get("eventTime")))):
        when = _when(str(job.event.get("eventTime")))
        for role in ("inputs", "outputs"):
            for ds in job.event.get(role) or ():
                if not isinstance(ds, Mapping) or not ds.get("namespace") or not ds.get("name"):
                    continue
                dkey = (str(ds["namespace"]), str(ds["name"]))
                node = datasets.get(dkey)
                if node is None:
                    node = datasets[dkey] = _Dataset(dkey[0], dkey[1], _slug("ds", *dkey), dataset_layer(*dkey))
                as_output = role == "outputs"
                (node.writers if as_output else node.readers).add(key)
                (job.outputs if as_output else job.inputs).append(dkey)
                facets = ds.get("facets") if isinstance(ds.get("facets"), Mapping) else {}
                rank = (as_output, bool(facets), when)  # a writer's facets first, then any; the newest of those
                if node.rank is None or rank >= node.rank:
                    node.rank = rank
                    node.facets = dict(facets)
                    node.source_job = key
                    node.source_time = str(job.event.get("eventTime"))
                    node.output_facets = dict(ds.get("outputFacets") or {}) if as_output else {}
    index = {layer: i for i, layer in enumerate(LAYERS)}
    for job in jobs.values():
        ins = [index[datasets[d].layer] for d in job.inputs]
        outs = [index[datasets[d].layer] for d in job.outputs]
        if ins:
            job.layer = max(ins) + 1
        elif outs:
            job.layer = max(min(outs), 1)
        job.layer = max(job.layer, 1)
        job.inputs = list(dict.fromkeys(job.inputs))
        job.outputs = list(dict.fromkeys(job.outputs))
    return datasets, jobs


# --- the SVG -----------------------------------------------------------------------------------------------

_DS_W, _DS_H, _JOB_W, _JOB_H, _GAP, _COL_GAP, _TOP = 300, 36, 280, 28, 10, 70, 40


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_Box = tuple[float, float, float, float]  # x, y, width, height


def _svg(datasets: dict[tuple[str, str], _Dataset], jobs: dict[tuple[str, str], _Job]) -> str:
    """The graph: datasets by layer in columns, the jobs between the layers they read and write, edges between."""
    columns, n_columns = _columns(datasets, jobs)
    xs, width = _column_xs(n_columns)
    placed, height = _place(columns, xs, _neighbours(datasets, jobs))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="lineage graph: datasets and jobs by layer">',
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" fill="#8a94a6"/></marker></defs>',
    ]
    for c in range(0, n_columns, 2):
        label = LAYERS[c // 2] if c // 2 < len(LAYERS) else ""
        parts.append(f'<text class="layer" x="{xs[c]}" y="22">{html.escape(label)}</text>')
    parts += _edges(datasets, jobs, placed)
    parts += _nodes(datasets, jobs, placed)
    parts.append("</svg>")
    return "\n".join(parts)


def _columns(datasets: dict[tuple[str, str], _Dataset], jobs: dict[tuple[str, str], _Job],
             ) -> tuple[dict[int, list[_Dataset | _Job]], int]:
    """The nodes of each column and how many columns: dataset layer i at 2*i, the jobs before it at 2*i - 1; jobs
    after the last layer at the far right."""
    n_layers = len(LAYERS)
    last_job_column = max([j.layer for j in jobs.values()] + [n_layers - 1])
    columns: dict[int, list[_Dataset | _Job]] = {}
    for d in datasets.values():
        columns.setdefault(2 * LAYERS.index(d.layer), []).append(d)
    for j in jobs.values():
        columns.setdefault(2 * j.layer - 1, []).append(j)
    return columns, max(2 * (n_layers - 1), 2 * last_job_column - 1) + 1


def _column_xs(n_columns: int) -> tuple[list[int], int]:
    """Each column's left edge (datasets' columns are wider than jobs'), and the graph's width."""
    xs, x = [], 20
    for c in range(n_columns):
        xs.append(x)
        x += (_DS_W if c % 2 == 0 else _JOB_W) + _COL_GAP
    return xs, x - _COL_GAP + 20


def _neighbours(datasets: dict[tuple[str, str], _Dataset], jobs: dict[tuple[str, str], _Job]) -> dict[str, list[str]]:
    """Node id -> the ids of the nodes an edge joins it to."""
    neighbours: dict[str, list[str]] = {}
    for j in jobs.values():
        for d in [*j.inputs, *j.outputs]:
            neighbours.setdefault(j.id, []).append(datasets[d].id)
            neighbours.setdefault(datasets[d].id, []).append(j.id)
    return neighbours


def _place(columns: dict[int, list[_Dataset | _Job]], xs: list[int], neighbours: dict[str, list[str]],
           ) -> tuple[dict[str, _Box], int]:
    """Every node's box, and the graph's height. Each column is ordered by the mean position of its neighbours
    placed before it (fewer crossings), then by name."""
    position: dict[str, float] = {}
    placed: dict[str, _Box] = {}
    height = _TOP

    def order(node: _Dataset | _Job) -> tuple[float, str, str]:
        seen = [position[n] for n in neighbours.get(node.id, []) if n in position]
        return (sum(seen) / len(seen) if seen else float("inf"), node.name, node.namespace)

    for c, x in enumerate(xs):
        w, h = (_DS_W, _DS_H) if c % 2 == 0 else (_JOB_W, _JOB_H)
        y = _TOP
        for rank, node in enumerate(sorted(columns.get(c, []), key=order)):
            placed[node.id] = (x, y, w, h)
            position[node.id] = rank
            y += h + _GAP
        height = max(height, y)
    return placed, height + 10


def _edges(datasets: dict[tuple[str, str], _Dataset], jobs: dict[tuple[str, str], _Job],
           placed: dict[str, _Box]) -> list[str]:
    """A curve per input (dataset to job) and output (job to dataset), side to side."""
    edges = []
    for j in jobs.values():
        edges += [(datasets[d].id, j.id, "in") for d in j.inputs]
        edges += [(j.id, datasets[d].id, "out") for d in j.outputs]
    parts = []
    for src, dst, kind in sorted(edges):
        sx, sy, sw, sh = placed[src]
        dx, dy, dw, dh = placed[dst]
        if dx >= sx + sw:  # forward: right side to left side
            x1, x2 = sx + sw, dx
        else:  # backward (a job after its output's layer): left side to right side
            x1, x2 = sx, dx + dw
        y1, y2 = sy + sh / 2, dy + dh / 2
        mid = (x1 + x2) / 2
        parts.append(
            f'<path class="edge {kind}" data-from="{src}" data-to="{dst}" '
            f'd="M{x1},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2},{y2:.1f}" marker-end="url(#arrow)"/>'
        )
    return parts


def _nodes(datasets: dict[tuple[str, str], _Dataset], jobs: dict[tuple[str, str], _Job],
           placed: dict[str, _Box]) -> list[str]:
    """A box per dataset (namespace and name) and per job (name, its newest event's status), each a link to its
    section of the page."""
    e = html.escape
    parts = []
    for d in sorted(datasets.values(), key=lambda d: d.id):
        x, y, w, h = placed[d.id]
        parts.append(
            f'<a href="#{d.id}" class="node dataset {e(d.layer)}" data-node="{d.id}">'
            f"<title>{e(d.namespace)} {e(d.name)}</title>"
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="4"/>'
            f'<text class="ns" x="{x + 8}" y="{y + 13}">{e(_short(d.namespace, 48))}</text>'
            f'<text class="name" x="{x + 8}" y="{y + 29}">{e(_short(d.name, 44))}</text></a>'
        )
    for j in sorted(jobs.values(), key=lambda j: j.id):
        x, y, w, h = placed[j.id]
        status = str(j.newest.get("eventType") or "").lower()
        parts.append(
            f'<a href="#{j.id}" class="node job {e(status)}" data-node="{j.id}">'
            f"<title>job {e(j.namespace)} {e(j.name)}: {e(status)}</title>"
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="12"/>'
            f'<text class="name" x="{x + 10}" y="{y + 18}">{e(_short(j.name, 42))}</text></a>'
        )
    return parts


# --- the sections --------------------------------------------------------------------------------------------


def _row_count(d: _Dataset) -> int | None:
    stats = d.output_facets.get("outputStatistics") or {}
    value = stats.get("rowCount")
    if value is None:
        value = (d.facets.get("dataQualityMetrics") or {}).get("rowCount")
    return value if isinstance(value, int) else None


def _job_links(keys: Iterable[tuple[str, str]], jobs: dict[tuple[str, str], _Job]) -> str:
    items = [f'<a href="#{jobs[k].id}">{html.escape(k[1])}</a>' for k in sorted(keys) if k in jobs]
    return ", ".join(items) if items else "—"


def _dataset_link(key: tuple[str, str], datasets: dict[tuple[str, str], _Dataset]) -> str:
    e = html.escape
    label = f'<span class="ns">{e(key[0])}</span> {e(key[1])}'
    return f'<a href="#{datasets[key].id}">{label}</a>' if key in datasets else label


def _input_field(i: Mapping[str, Any], datasets: dict[tuple[str, str], _Dataset]) -> str:
    e = html.escape
    key = (str(i.get("namespace", "")), str(i.get("name", "")))
    column = str(i.get("field", ""))
    node = datasets.get(key)
    label = f'<span class="ns">{e(key[1])}</span>.<code>{e(column)}</code>'
    if node is not None:
        known = {str(f["name"]) for f in node.columns}
        target = node.column_id(column) if column in known else node.id
        label = f'<a href="#{target}" title="{e(key[0])} {e(key[1])}">{label}</a>'
    kinds = []
    for t in i.get("transformations") or ():
        if isinstance(t, Mapping):
            kind = "/".join(str(t[k]) for k in ("type", "subtype") if t.get(k))
            if t.get("masking"):
                kind += " masked"
            if kind:
                kinds.append(kind)
    return label + (f' <span class="tx">{e(", ".join(kinds))}</span>' if kinds else "")


def _dataset_section(d: _Dataset, datasets, jobs) -> str:
    e = html.escape
    rows = _row_count(d)
    facts = [
        ("layer", e(d.layer)),
        ("written by", _job_links(d.writers, jobs)),
        ("read by", _job_links(d.readers, jobs)),
    ]
    if d.source_job is not None and d.source_job in jobs:
        what = "written" if d.rank and d.rank[0] else "read"
        facts.append(("newest run", f"{what} by <a href=\"#{jobs[d.source_job].id}\">{e(d.source_job[1])}</a> "
                                    f"at <time>{e(d.source_time or '')}</time>"))
    if rows is not None:
        facts.append(("rows", f"{rows:,}"))
    version = (d.facets.get("version") or {}).get("datasetVersion")
    if version:
        facts.append(("version", f"<code>{e(str(version))}</code>"))
    assertions = [a for a in (d.facets.get("dataQualityAssertions") or {}).get("assertions") or []
                  if isinstance(a, Mapping)]
    if assertions:
        failed = [a for a in assertions if a.get("success") is False]
        text = f"{len(assertions) - len(failed)} passed, {len(failed)} failed"
        if failed:
            text += ": " + ", ".join(
                e(str(a.get("name") or a.get("assertion"))) + (f" (<code>{e(str(a['column']))}</code>)"
                                                               if a.get("column") else "") for a in failed)
        facts.append(("checks", text))
    out = [f'<section class="dataset" id="{d.id}">',
           f'<h3><span class="ns">{e(d.namespace)}</span> {e(d.name)}</h3>',
           "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>"]
    lineage = d.lineage
    columns = d.columns
    names = [str(f["name"]) for f in columns]
    extra = [c for c in lineage if c not in names]  # column lineage of fields the schema does not list
    if columns or extra:
        out.append('<table class="columns"><thead><tr><th>column</th><th>type</th><th>description</th>'
                   "<th>from (input columns)</th></tr></thead><tbody>")
        for f in [*columns, *({"name": c} for c in extra)]:
            name = str(f["name"])
            ins = lineage.get(name) or []
            sources = "<br>".join(_input_field(i, datasets) for i in ins if isinstance(i, Mapping)) or "—"
            anchor = f' id="{d.column_id(name)}"' if name in names else ""
            out.append(f"<tr{anchor}><td><code>{e(name)}</code></td><td>{e(str(f.get('type') or ''))}</td>"
                       f"<td>{e(str(f.get('description') or ''))}</td><td>{sources}</td></tr>")
        out.append("</tbody></table>")
    else:
        out.append('<p class="none">no schema in the events</p>')
    out.append("</section>")
    return "\n".join(out)


def _run_key(event: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(event.get("eventType")), str(event.get("eventTime")), str((event.get("run") or {}).get("runId")))


def _job_section(j: _Job, datasets, jobs) -> str:
    e = html.escape
    run = j.event.get("run") or {}
    facets = run.get("facets") or {}
    facts = [("namespace", e(j.namespace))]
    newest_type = str(j.newest.get("eventType") or "")
    facts.append(("newest event", f'<span class="status {e(newest_type.lower())}">{e(newest_type)}</span> at '
                                  f"<time>{e(str(j.newest.get('eventTime') or ''))}</time>"))
    if _run_key(j.event) != _run_key(j.newest):
        facts.append(("shown run", f"{e(str(j.event.get('eventType') or ''))} at "
                                   f"<time>{e(str(j.event.get('eventTime') or ''))}</time>"))
    facts.append(("run ID", f"<code>{e(str(run.get('runId') or ''))}</code>"))
    nominal = facets.get("nominalTime") or {}
    if nominal.get("nominalStartTime"):
        facts.append(("partition", f"<time>{e(str(nominal['nominalStartTime']))}</time>"))
    parent = facets.get("parent") or {}
    if (parent.get("job") or {}).get("name"):
        pkey = (str(parent["job"].get("namespace", "")), str(parent["job"]["name"]))
        label = e(pkey[1])
        facts.append(("parent", f'<a href="#{jobs[pkey].id}">{label}</a>' if pkey in jobs else label))
    purpose = facets.get("jilin_purpose") or {}
    if purpose.get("purpose"):
        facts.append(("purpose", e(str(purpose["purpose"]))))
    error = ((j.newest.get("run") or {}).get("facets") or {}).get("errorMessage") or {}
    if error.get("message"):
        facts.append(("error", f"<code>{e(str(error['message']))}</code>"))
    rows = {}
    for ds in j.event.get("outputs") or ():
        if isinstance(ds, Mapping):
            count = ((ds.get("outputFacets") or {}).get("outputStatistics") or {}).get("rowCount")
            if isinstance(count, int):
                rows[(str(ds.get("namespace")), str(ds.get("name")))] = count
    ins = "".join(f"<li>{_dataset_link(k, datasets)}</li>" for k in j.inputs) or "<li>—</li>"
    outs = "".join(f"<li>{_dataset_link(k, datasets)}"
                   + (f' <span class="rows">{rows[k]:,} rows</span>' if k in rows else "") + "</li>"
                   for k in j.outputs) or "<li>—</li>"
    return "\n".join([
        f'<section class="job" id="{j.id}">',
        f"<h3>job {e(j.name)}</h3>",
        "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>",
        f'<div class="io"><div><h4>inputs</h4><ul>{ins}</ul></div><div><h4>outputs</h4><ul>{outs}</ul></div></div>',
        "</section>",
    ])


_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;
  color:#1f2937;background:#fff}
header,main{padding:0 24px}header p{color:#4b5563}
.scroll{overflow:auto;border:1px solid #e5e7eb;margin:0 24px;background:#fafafa}
svg.graph text{font:11px system-ui,sans-serif;fill:#111827}svg.graph text.ns{fill:#6b7280;font-size:10px}
svg.graph text.layer{font-weight:600;font-size:13px;fill:#374151;text-transform:uppercase;letter-spacing:.05em}
svg.graph .dataset rect{fill:#fff;stroke:#94a3b8}svg.graph .dataset.source rect{fill:#f1f5f9}
svg.graph .dataset.raw rect{fill:#fef9c3}svg.graph .dataset.standardised rect{fill:#dcfce7}
svg.graph .dataset.base rect{fill:#dbeafe}svg.graph .dataset.scenario rect{fill:#fce7f3}
svg.graph .job rect{fill:#eef2ff;stroke:#6366f1}svg.graph .job.fail rect{fill:#fee2e2;stroke:#dc2626}
svg.graph .job.start rect{stroke-dasharray:4 3}
svg.graph a:hover rect,svg.graph a:focus rect{stroke-width:2.5;stroke:#111827}
svg.graph .edge{fill:none;stroke:#b6bfcc;stroke-width:1.1}svg.graph .edge.hot{stroke:#dc2626;stroke-width:2}
section{border-top:1px solid #e5e7eb;padding:8px 0 14px}section:target{background:#fffbeb}
tr:target{background:#fde68a}h3{margin:6px 0}h3 .ns,.ns{color:#6b7280;font-weight:normal}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0}dt{color:#6b7280}dd{margin:0}
table.columns{border-collapse:collapse;margin-top:6px}table.columns th,table.columns td{border:1px solid #e5e7eb;
  padding:3px 8px;text-align:left;vertical-align:top}table.columns th{background:#f9fafb}
.tx{color:#6b7280;font-size:12px}.rows{color:#6b7280}.status.fail{color:#dc2626;font-weight:600}
.io{display:flex;gap:40px}.io ul{margin:4px 0;padding-left:18px}nav.index{columns:3 320px;font-size:13px}
code{font-size:12.5px}
"""

# Highlights the edges of the node under the pointer or the section shown; the page works without it.
_SCRIPT = """
(function(){
  function hot(id,on){document.querySelectorAll('path.edge').forEach(function(p){
    if(p.getAttribute('data-from')===id||p.getAttribute('data-to')===id){p.classList.toggle('hot',on);}});}
  document.querySelectorAll('svg.graph a.node').forEach(function(a){var id=a.getAttribute('data-node');
    a.addEventListener('mouseenter',function(){hot(id,true);});a.addEventListener('mouseleave',function(){hot(id,false);});});
  function fromHash(){document.querySelectorAll('path.edge.hot').forEach(function(p){p.classList.remove('hot');});
    var id=decodeURIComponent(location.hash.slice(1)).split('--c-')[0];if(id){hot(id,true);}}
  window.addEventListener('hashchange',fromHash);fromHash();
})();
"""


def render_lineage_page(latest: LatestEvents, *, source: str = "") -> str:
    """The HTML page of the events kept (see :func:`read_latest`)."""
    e = html.escape
    datasets, jobs = _build(latest)
    times = [str(j.newest.get("eventTime")) for j in jobs.values() if j.newest.get("eventTime")]
    newest = max(times, key=_when) if times else "—"
    by_layer = {layer: sorted((d for d in datasets.values() if d.layer == layer), key=lambda d: (d.name, d.namespace))
                for layer in LAYERS}
    index = []
    for layer in LAYERS:
        if by_layer[layer]:
            index.append(f"<h4>{e(layer)}</h4><ul>" + "".join(
                f'<li><a href="#{d.id}">{e(d.name)}</a></li>' for d in by_layer[layer]) + "</ul>")
    index.append("<h4>jobs</h4><ul>" + "".join(
        f'<li><a href="#{j.id}">{e(j.name)}</a></li>' for j in sorted(jobs.values(), key=lambda j: j.name)) + "</ul>")
    summary = (f"{len(datasets)} datasets and {len(jobs)} jobs from {latest.lines:,} events"
               f"{f' ({latest.unreadable:,} lines not read)' if latest.unreadable else ''}; newest event {e(newest)}."
               " Per job its newest COMPLETE run (else its newest event); per dataset the newest run writing it."
               " Click a box for its columns and where each comes from.")
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Lineage — jilin_pipelines</title>",
        f"<style>{_STYLE}</style></head><body>",
        f'<header><nav><a href="{INDEX}">all reports</a></nav><h1>Lineage</h1><p>{summary}</p>'
        f'<p class="ns">{e(source)}</p></header>',
        f'<div class="scroll">{_svg(datasets, jobs)}</div>',
        '<main><h2 id="index">Index</h2><nav class="index">' + "".join(index) + "</nav>",
        '<h2 id="datasets">Datasets</h2>',
    ]
    for layer in LAYERS:
        body += [_dataset_section(d, datasets, jobs) for d in by_layer[layer]]
    body.append('<h2 id="jobs">Jobs</h2>')
    body += [_job_section(j, datasets, jobs) for j in sorted(jobs.values(), key=lambda j: (j.layer, j.name))]
    body += ["</main>", f"<script>{_SCRIPT}</script>", "</body></html>", ""]
    return "\n".join(body)


def write_lineage_page(data_dir: Path, out: Path | None = None) -> Path:
    """Write the lineage page of ``<data>/lineage/openlineage.jsonl`` to ``out`` (default
    ``<data>/reports/lineage.html``) and return its path. No events file: a page that says so.
    """
    data_dir = Path(data_dir)
    events = default_path(data_dir)
    latest = read_latest(events) if events.is_file() else LatestEvents()
    target = Path(out) if out is not None else page_path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render_lineage_page(latest, source=str(events) if events.is_file() else f"no events at {events}")
    return write_page(target, text)


def refresh_lineage_page(data_dir: Path) -> Path:
    """The lineage page, rewritten only when events came in since it was written (what the reports server does
    before sending it: always current, drawn once per change)."""
    events, page = default_path(data_dir), page_path(data_dir)
    if page.exists() and (not events.is_file() or events.stat().st_mtime <= page.stat().st_mtime):
        return page
    return write_lineage_page(data_dir)
