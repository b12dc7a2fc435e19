"""The HTML reports under ``<data>/reports/``: how a page is written, how a chart becomes inline SVG, and the index
page that links every day's pages. Pure: no Dagster. The pages need nothing from the network (charts are inline
SVG, drawn by matplotlib), so they open from the file as well as from ``jilin-pipelines reports`` (the server
``make ui`` starts, whose URL the assets' metadata links to).

- ``scorecard_<day>.html``: the day's quality (``quality/report.py``): the scorecard coloured, the pass rate by
  day as a heatmap and as trend lines per department;
- ``fairness_<day>.html``: the audits of the day's decisions (``fairness/report.py``);
- ``lineage.html``: the datasets, jobs and columns of the OpenLineage events (``lineage/page.py``);
- ``index.html``: every day that has a page, newest first, with links to them.
"""

from __future__ import annotations

import html
import io
import os
import re
import warnings
from pathlib import Path

INDEX = "index.html"
#: The pages of a day, by file name prefix, in the order the index shows them.
DAY_PAGES = {"scorecard": "quality scorecard", "fairness": "fairness of the decisions"}
STYLE = ("body{font-family:'WenQuanYi Zen Hei','Noto Sans CJK SC',sans-serif;max-width:72em;margin:1em auto;"
         "padding:0 1em}td,th{padding:3px 9px;border-bottom:1px solid #ddd;text-align:left}"
         "th{background:#f4f4f4}nav a{margin-right:1.2em}.flag{color:#c0392b;font-weight:bold}.ok{color:#2e7d32}")


def write_page(path: Path, text: str) -> Path:
    """Whole or not at all: a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def page(title: str, body: str, nav: dict[str, str] | None = None) -> str:
    """A whole page: its title, links at the top (label → href), the body."""
    links = "".join(f"<a href='{html.escape(href)}'>{html.escape(label)}</a>" for label, href in (nav or {}).items())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>" + (f"<nav>{links}</nav>" if links else "")
            + f"<h1>{html.escape(title)}</h1>{body}</body></html>")


def pyplot():
    """matplotlib's pyplot on the SVG backend, text kept as text (the browser draws the Chinese names)."""
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    return plt


def svg(fig, top: float = 1.0) -> str:
    """The figure as an inline ``<svg>`` element (no time stamp: the same figures make the same page); closed.
    ``top``: the share of the height the axes may take (the rest: a legend over them)."""
    plt = pyplot()
    out = io.StringIO()
    with warnings.catch_warnings():  # the layout measures Chinese names with a font that may lack them: harmless
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.tight_layout(rect=(0, 0, 1, top))
        fig.savefig(out, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = out.getvalue()
    return text[text.index("<svg"):]


def write_index(reports_dir: Path) -> Path:
    """``index.html``: a row per day that has a page (newest first), a link per page of the day, and the lineage
    page when there is one. Listed from the directory: cheap however long the history."""
    days: dict[str, dict[str, str]] = {}
    for path in reports_dir.glob("*_????-??-??.html"):
        m = re.fullmatch(r"(\w+?)_(\d{4}-\d{2}-\d{2})\.html", path.name)
        if m and m[1] in DAY_PAGES:
            days.setdefault(m[2], {})[m[1]] = path.name
    rows = "".join(
        f"<tr><td>{day}</td>" + "".join(
            f"<td><a href='{html.escape(pages[kind])}'>{label}</a></td>" if kind in pages else "<td>—</td>"
            for kind, label in DAY_PAGES.items()) + "</tr>"
        for day, pages in sorted(days.items(), reverse=True)
    )
    head = "<tr><th>day</th>" + "".join(f"<th>{label}</th>" for label in DAY_PAGES.values()) + "</tr>"
    lineage = "<p><a href='lineage.html'>Lineage: datasets, jobs and columns</a></p>" if (
        reports_dir / "lineage.html").exists() else ""
    body = f"{lineage}<table>{head}{rows}</table>" if rows else f"{lineage}<p>No report yet: run a day first.</p>"
    return write_page(reports_dir / INDEX, page("jilin_pipelines — reports", body))


def serve(reports_dir: Path, host: str = "127.0.0.1", port: int = 3001, refresh=None) -> None:
    """Serve the reports read-only over HTTP until interrupted (what ``make ui`` starts beside Dagster, so the
    assets' links open in the browser). ``refresh(name)``, when given, is called before a page is sent (the lineage
    page is rewritten when newer events came in)."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    reports_dir.mkdir(parents=True, exist_ok=True)
    write_index(reports_dir)

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            name = self.path.split("?", 1)[0].split("#", 1)[0].lstrip("/") or INDEX
            if refresh is not None:
                refresh(name)
            if name == INDEX:
                write_index(reports_dir)  # the days written since
            super().do_GET()

        def log_message(self, format, *args):  # noqa: A002 - quiet: the browser's requests are no news
            pass

    with ThreadingHTTPServer((host, port), partial(Handler, directory=str(reports_dir))) as server:
        print(f"reports of {reports_dir} at http://{host}:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
