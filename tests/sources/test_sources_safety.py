"""Bad input never gets in: delivery paths stay inside the sources directory, XML with DTDs or entities is refused
(naming the file), and the API client never follows a redirect off the configured host, not even to another port."""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sources_testkit import DAY, VEHICLE_COLUMNS, csv_text, vehicle_row

from jilin_pipelines.sources import ApiClient, DeliveryError, read_csv, read_jsonl, read_xml
from jilin_tools.api_server import ApiServer
from jilin_pipelines.sources.reader import open_delivery_file
from jilin_pipelines.sources.layout import delivery_path

TOKEN = "another-s3cret-never-shown"


@pytest.fixture()
def layout(tmp_path):
    """A sources root with one real delivery, and a secret file outside it."""
    root = tmp_path / "sources"
    folder = root / "traffic_police" / "motor_vehicles"
    folder.mkdir(parents=True)
    good = folder / "motor_vehicles_20250601.csv"
    good.write_bytes(csv_text(VEHICLE_COLUMNS, [vehicle_row(1)]).encode("gbk"))
    secret = tmp_path / "outside" / "secret.csv"
    secret.parent.mkdir()
    secret.write_bytes(csv_text(VEHICLE_COLUMNS, [vehicle_row(2, name="秘密")]).encode("gbk"))
    return root, good, secret


def test_a_path_with_dotdot_is_refused_even_when_the_file_exists(layout):
    root, good, secret = layout
    sneaky = root / "traffic_police" / ".." / ".." / "outside" / "secret.csv"
    assert sneaky.exists()
    with pytest.raises(DeliveryError, match=r"refused path .*'\.\.'"):
        open_delivery_file(sneaky, "traffic_police.motor_vehicles", DAY, VEHICLE_COLUMNS)
    with pytest.raises(DeliveryError, match="refused path"):
        read_csv(sneaky, dataset="traffic_police.motor_vehicles", day=DAY, encoding="gbk", columns=VEHICLE_COLUMNS)
    with pytest.raises(DeliveryError, match="refused path"):
        read_jsonl(str(root) + "/../outside/secret.csv", dataset="x.y", day=DAY, columns=None)


def test_a_symlinked_delivery_file_leading_out_of_the_root_is_refused(layout):
    root, good, secret = layout
    link = root / "traffic_police" / "motor_vehicles" / "motor_vehicles_20250602.csv"
    os.symlink(secret, link)
    day2 = DAY.replace(day=2)
    with pytest.raises(DeliveryError, match="resolves outside the sources root"):
        delivery_path(root, "traffic_police", "motor_vehicles", day2, "csv")
    with pytest.raises(DeliveryError, match="resolves outside the sources root"):
        open_delivery_file(link, "traffic_police.motor_vehicles", day2, VEHICLE_COLUMNS, root=root)
    # a directory symlink on the way out is caught the same
    os.symlink(secret.parent, root / "traffic_police" / "escape")
    with pytest.raises(DeliveryError, match="resolves outside the sources root"):
        open_delivery_file(root / "traffic_police" / "escape" / "secret.csv", "x.y", DAY, None, root=root)


def test_a_file_inside_the_root_reads_normally_with_the_root_check(layout):
    root, good, secret = layout
    data, delivery, _ = open_delivery_file(good, "traffic_police.motor_vehicles", DAY, VEHICLE_COLUMNS, root=root)
    assert data == good.read_bytes() and delivery.size_bytes == len(data)
    # a symlink that stays inside the root is fine
    inside = root / "traffic_police" / "motor_vehicles" / "motor_vehicles_20250603.csv"
    os.symlink(good, inside)
    assert open_delivery_file(inside, "x.y", DAY, None, root=root)[0] == data


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE Permits [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE Permits [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
        "<!DOCTYPE Permits>",
    ],
    ids=["xxe", "billion-laughs", "bare-doctype"],
)
def test_xml_with_a_doctype_after_broken_records_is_still_refused(tmp_path, doctype):
    """The refusal holds in the recovery path too: a DOCTYPE can never be smuggled past a malformed start."""
    doc = (f'<?xml version="1.0"?>\n{doctype}\n<Permits><Permit><PermitNo>&xxe;&d;</PermitNo></Permit>'
           "<Permit><PermitNo>1</Permit></Permits>\n")
    path = tmp_path / "p.xml"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(DeliveryError, match="refused") as err:
        read_xml(path, dataset="municipal.construction_permits", day=DAY, record_tag="Permit", columns=["PermitNo"])
    assert str(path) in str(err.value)
    assert "root:" not in str(err.value)  # /etc/passwd never read into the message


def test_a_declaration_inside_the_broken_tail_is_refused(tmp_path):
    """After a fault the tail is re-parsed piece by piece; a DOCTYPE hidden there is refused all the same."""
    doc = ('<?xml version="1.0"?>\n<Permits><Permit><PermitNo>1</PermitNo></Permit><Permit><PermitNo>2</Permit>\n'
           '<!DOCTYPE Permit [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Permit><PermitNo>&xxe;</PermitNo></Permit>'
           "</Permits>\n")
    path = tmp_path / "p.xml"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(DeliveryError, match="line 3 holds a DOCTYPE declaration .*refused") as err:
        read_xml(path, dataset="municipal.construction_permits", day=DAY, record_tag="Permit", columns=["PermitNo"])
    assert str(path) in str(err.value)


class _Other(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).hits.append(self.headers.get("Authorization", ""))
        body = b'{"date": "2025-06-01", "page": 1, "total": 0, "items": []}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("other_host", ["127.0.0.1", "localhost"])
def test_a_redirect_to_another_port_or_host_is_not_followed(tmp_path, other_host):
    """Same address, another port is another origin: the client refuses it and the token never leaves."""
    root = tmp_path / "sources"
    (root / "transport" / "practitioner_qualifications").mkdir(parents=True)
    other = ThreadingHTTPServer(("127.0.0.1", 0), _Other)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    _Other.hits = []
    try:
        target = f"http://{other_host}:{other.server_address[1]}"
        with ApiServer(root, token=TOKEN, redirect_to=target) as server:
            assert server.url.startswith("http://127.0.0.1:")
            with ApiClient(server.url, TOKEN, backoff=0.01) as client:
                with pytest.raises(DeliveryError) as err:
                    client.fetch("transport", "practitioner_qualifications", DAY, None)
            assert server.statuses == {302: 1}
    finally:
        other.shutdown()
        other.server_close()
    assert "redirected to another host" in str(err.value)
    assert f"{other_host}:{other.server_address[1]}" in str(err.value)
    assert _Other.hits == []
    assert TOKEN not in str(err.value)


def test_a_deeply_nested_json_answer_is_a_clear_error_not_a_crash(tmp_path):
    """json.loads gives up on deep nesting with a RecursionError: the client turns it into its typed error."""
    body = b'{"date": "2025-06-01", "page": 1, "total": 1, "items": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"

    class Deep(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Deep)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with ApiClient(f"http://127.0.0.1:{server.server_address[1]}", TOKEN, backoff=0.01, max_retries=1) as client:
            with pytest.raises(DeliveryError, match="not valid JSON after 2 attempts"):
                client.fetch("transport", "practitioner_qualifications", DAY, None)
    finally:
        server.shutdown()
        server.server_close()


def test_an_xml_declaring_an_unknown_encoding_is_refused_naming_the_file(tmp_path):
    """Found by benchmarks/fuzz_readers.py: the error did not name the file."""
    path = tmp_path / "p.xml"
    path.write_bytes(b'<?xml version="1.0" encoding="-TF-8"?>\n'
                     b"<Permits><Permit><PermitNo>1</PermitNo></Permit></Permits>")
    with pytest.raises(DeliveryError, match="unknown encoding '-TF-8'") as err:
        read_xml(path, dataset="municipal.construction_permits", day=DAY, record_tag="Permit", columns=["PermitNo"])
    assert str(err.value).startswith(str(path))


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "[Content_Types].xml"])
def test_an_xlsx_part_with_an_external_entity_never_reveals_the_file(tmp_path, part):
    """XLSX is zipped XML: openpyxl parses the worksheets with defusedxml (entities refused) and the other parts with
    lxml without entity resolution. Either the workbook is refused naming the file, or the entity stays unresolved."""
    import io
    import re
    import zipfile

    from openpyxl import Workbook

    from jilin_pipelines.sources import read_xlsx

    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-VALUE", encoding="utf-8")
    wb = Workbook()
    ws = wb.active
    ws.title = "S"
    ws.append(["a", "b"])
    ws.append(["x", "y"])
    buf = io.BytesIO()
    wb.save(buf)
    doctype = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>'.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(out, "w") as zout:
        assert part in zin.namelist()
        for name in zin.namelist():
            data = zin.read(name)
            if name == part:
                data = doctype + re.sub(rb"^<\?xml[^>]*\?>", b"", data)
                data = re.sub(rb'<c r="A2"[^>]*>.*?</c>', b'<c r="A2" t="inlineStr"><is><t>&xxe;</t></is></c>', data)
            zout.writestr(name, data)
    path = tmp_path / "x.xlsx"
    path.write_bytes(out.getvalue())
    try:
        d = read_xlsx(path, dataset="municipal.construction_permits", day=DAY, sheet="S", columns=["a", "b"])
    except DeliveryError as exc:
        assert str(path) in str(exc) and "TOPSECRET" not in str(exc)
        return
    assert "TOPSECRET" not in str(d.table.to_pylist()) + str(d.warnings)


def test_a_front_end_database_symlinked_out_of_the_sources_is_refused_and_held(tmp_path):
    import shutil
    from datetime import date

    from jilin_pipelines.catalogue import catalogue
    from jilin_pipelines.raw import land_day
    from jilin_pipelines.settings import CHECKOUT, Settings

    outside = tmp_path / "outside" / "exchange.sqlite"
    outside.parent.mkdir()
    shutil.copy(CHECKOUT / "sample_sources" / "social_security" / "exchange.sqlite", outside)
    sources = tmp_path / "sources"
    (sources / "social_security").mkdir(parents=True)
    os.symlink(outside, sources / "social_security" / "exchange.sqlite")
    settings = Settings.from_env({"JILIN_SOURCES_DIR": str(sources), "JILIN_DATA_DIR": str(tmp_path / "data")})
    landing = land_day(catalogue().entry("social_security.employers"), date(2025, 6, 2), settings)
    assert landing.unreadable is not None and "resolves outside the sources root" in landing.unreadable
    assert landing.delivery.delivered_rows == 0  # nothing of the file outside was read


def test_a_doctype_written_inside_a_comment_or_cdata_is_text_not_a_declaration(tmp_path):
    doc = ('<?xml version="1.0"?>\n<!-- exported by the old system: <!DOCTYPE Permits> was dropped -->\n'
           "<Permits><Permit><PermitNo>1</PermitNo><Address><![CDATA[<!ENTITY is not here> 长春市]]></Address>"
           "</Permit><Permit><PermitNo>2</PermitNo></Permit></Permits>\n")
    path = tmp_path / "p.xml"
    path.write_text(doc, encoding="utf-8")
    d = read_xml(path, dataset="municipal.construction_permits", day=DAY, record_tag="Permit",
                 columns=["PermitNo", "Address"])
    assert d.delivered_rows == 2 and d.unparseable_rows == 0
    assert d.table.column("Address").to_pylist()[0] == "<!ENTITY is not here> 长春市"
    # a real declaration after a comment is refused all the same
    path.write_text(doc.replace("<Permits>", '<!DOCTYPE Permits [<!ENTITY x "y">]>\n<Permits>', 1), encoding="utf-8")
    with pytest.raises(DeliveryError, match="refused"):
        read_xml(path, dataset="municipal.construction_permits", day=DAY, record_tag="Permit", columns=["PermitNo"])
