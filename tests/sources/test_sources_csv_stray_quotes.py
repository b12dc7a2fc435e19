"""A quote that opens a field and is never closed on its line (SPEC §7) is a defect of its row, not the end of the
file: the rows after it land. Counted by a naive reading of the same bytes (one record per line: the files here have
no quoted line ends), not by the parser's own count."""

from __future__ import annotations


from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sources_testkit import DAY, VEHICLE_COLUMNS, check_invariants, csv_text, vehicle_row

from jilin_pipelines.sources import csv_reader, read_csv

DATASET = "traffic_police.motor_vehicles"
NAME = VEHICLE_COLUMNS.index("所有人名称")


def _read(tmp_path, text: str, **kw):
    path = tmp_path / "v.csv"
    path.write_bytes(text.encode("gbk"))
    d = read_csv(path, dataset=DATASET, day=DAY, encoding="gbk", columns=VEHICLE_COLUMNS, **kw)
    check_invariants(d)
    return path, d


def test_a_stray_quote_at_row_10_of_236_loses_no_vehicle(tmp_path):
    rows = [vehicle_row(i) for i in range(1, 237)]
    text = csv_text(VEHICLE_COLUMNS, rows).replace(",张三,", ',"黄芬芬,', 10)  # the 10th row's name opens a quote
    text = text.replace(',"黄芬芬,', ",张三,", 9)  # (only the 10th keeps it)
    assert text.count('"') == 1 and '"黄芬芬' in text.splitlines()[10]

    path, d = _read(tmp_path, text)

    assert d.delivered_rows == 236 and d.landed_rows == 236 and d.unparseable_rows == 0
    t = d.table.to_pylist()
    assert [r["_source_row"] for r in t] == list(range(1, 237))
    assert [r["号牌号码"] for r in t] == [f"吉A{i:05d}" for i in range(1, 237)]
    assert t[9]["所有人名称"] == "黄芬芬"  # the quote dropped, the value kept
    warnings = [str(w) for w in d.warnings]
    assert warnings == [f"{path}, row 10, field 所有人名称: a quote opening the field is not closed on its line: "
                        "the quote was dropped and the row kept"]


def test_a_stray_quote_in_a_row_that_cannot_be_repaired_is_that_row_unparseable(tmp_path):
    rows = [vehicle_row(i) for i in range(1, 6)]
    text = csv_text(VEHICLE_COLUMNS, rows)
    lines = text.split("\n")
    lines[2] = '吉A00002,"02,K33'  # a quote and too few fields
    path, d = _read(tmp_path, "\n".join(lines))

    t = d.table.to_pylist()
    assert [(r["_source_row"], r["号牌号码"]) for r in t] == [(1, "吉A00001"), (2, None), (3, "吉A00003"),
                                                            (4, "吉A00004"), (5, "吉A00005")]
    assert t[1]["_raw"] == '吉A00002,"02,K33'  # its own text, as delivered
    assert t[1]["_error"] == "a quote opened in this row is not closed on its line"


def test_a_quoted_line_end_after_a_stray_quote_is_still_one_value(tmp_path):
    rows = [vehicle_row(i) for i in range(1, 9)]
    rows[5][NAME] = "多行\n名称"  # a value with a line end, quoted by the writer
    lines = csv_text(VEHICLE_COLUMNS, rows).split("\n")
    lines[2] = lines[2].replace(",张三,", ',"张三,')
    path, d = _read(tmp_path, "\n".join(lines), piece_bytes=64)  # in small pieces too

    t = d.table.to_pylist()
    assert d.landed_rows == 8 and d.unparseable_rows == 0
    assert [r["所有人名称"] for r in t] == ["张三"] * 5 + ["多行\n名称"] + ["张三"] * 2


LINE_VALUE = st.text(alphabet="吉ABC0123 -:张王", max_size=8)


@st.composite
def damaged(draw) -> tuple[list[list[str]], str]:
    """Rows without quotes or line ends in their values, some of whose fields get a quote opening them."""
    n = draw(st.integers(1, 30))
    rows = [[draw(LINE_VALUE) for _ in VEHICLE_COLUMNS] for _ in range(n)]
    lines = [",".join(r) for r in rows]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, n - 1))
        fields = lines[i].split(",")
        k = draw(st.integers(0, len(fields) - 1))
        fields[k] = '"' + fields[k]
        lines[i] = ",".join(fields)
    if draw(st.booleans()):  # a row with too few fields
        lines.insert(draw(st.integers(0, n)), ",".join(draw(LINE_VALUE) for _ in range(3)))
    return rows, ",".join(VEHICLE_COLUMNS) + "\n" + "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(case=damaged(), piece_bytes=st.sampled_from([None, 40, 200]))
def test_each_line_is_a_record_whatever_its_quotes(tmp_path_factory, case, piece_bytes):
    _, text = case
    path, d = _read(tmp_path_factory.mktemp("q"), text, piece_bytes=piece_bytes)

    body = text.split("\n")[1:-1]
    assert d.delivered_rows == len(body)  # the naive count: one record per line
    # every line that holds the header's fields once its unclosed quotes are dropped lands with those values
    for line, got in zip(body, [tuple(r[c] for c in VEHICLE_COLUMNS) if r["_error"] is None else None
                                for r in d.table.to_pylist()]):
        plain = line.split(",")
        if len(plain) == len(VEHICLE_COLUMNS) and line.count('"') <= 1:
            assert got == tuple(v.removeprefix('"') for v in plain), line
    for r in d.table.to_pylist():
        if r["_error"] is not None:
            assert "\n" not in r["_raw"] and r["_raw"] in body  # unparseable with its own line, as delivered


def test_the_repair_is_bounded_when_every_row_has_a_stray_quote(tmp_path, monkeypatch):
    """Past a few rounds the reader repairs every line of a swallowed record in one parse (it does not parse the
    piece once per stray quote)."""
    parses = []
    real = csv_reader._parse
    monkeypatch.setattr(csv_reader, "_parse", lambda *a, **k: parses.append(1) or real(*a, **k))
    rows = [vehicle_row(i) for i in range(1, 201)]
    text = csv_text(VEHICLE_COLUMNS, rows).replace(",张三,", ',"张三,')
    _, d = _read(tmp_path, text)
    assert d.landed_rows == 200 and {r["所有人名称"] for r in d.table.to_pylist()} == {"张三"}
    assert len(parses) <= csv_reader._FIRST_ONLY_ROUNDS + 3
