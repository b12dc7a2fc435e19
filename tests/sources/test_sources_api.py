"""The HTTP API client against the real stand-in server on loopback (SPEC §6)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from sources_testkit import DAY, check_invariants, data_rows

from jilin_pipelines.sources import ApiClient, DeliveryError, SourceUnavailable
from jilin_tools.api_server import ApiServer

TOKEN = "s3cret-token-never-shown"
COLUMNS = ["certNo", "idNumber", "name", "qualificationType", "issueDate", "validTo", "status", "updatedAt"]
N_ITEMS = 2_345
BAD_LINE = 1_001  # 1-based line of the file that is not JSON


def qualification(i: int) -> dict:
    return {"certNo": f"Q{i:06d}", "idNumber": f"22010219800101{i % 10000:04d}", "name": "张三",
            "qualificationType": "freight_driver", "issueDate": "2020-01-01", "validTo": "2026-01-01",
            "status": "valid", "updatedAt": "2025-06-01 10:00:00"}


@pytest.fixture()
def root(tmp_path):
    root = tmp_path / "sources"
    d = root / "transport" / "practitioner_qualifications"
    d.mkdir(parents=True)
    lines = [json.dumps(qualification(i), ensure_ascii=False) for i in range(1, N_ITEMS)]
    lines.insert(BAD_LINE - 1, '{"certNo": "Q-BROKEN", "name": 张')
    (d / "practitioner_qualifications_20250601.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "social_security" / "assistance_applications").mkdir(parents=True)
    return root


def fetch(url, **kw):
    client = ApiClient(url, TOKEN, **({"backoff": 0.01} | kw))
    try:
        d = client.fetch("transport", "practitioner_qualifications", DAY, COLUMNS)
    finally:
        client.close()
    check_invariants(d)
    return d


def test_pagination_over_several_pages(root):
    with ApiServer(root, token=TOKEN) as server:
        d = fetch(server.url, page_size=500)
        statuses = server.statuses

    assert statuses == {200: 6}  # 5 pages with items, then the empty one
    assert d.delivered_rows == N_ITEMS and d.unparseable_rows == 1
    assert d.table.column("_source_row").to_pylist() == list(range(1, N_ITEMS + 1))
    assert d.location == f"{server.url}/api/v1/transport/practitioner_qualifications?date=2025-06-01"
    assert d.dataset == "transport.practitioner_qualifications"
    bad = d.table.to_pylist()[BAD_LINE - 1]
    assert bad["_raw"] == '{"certNo": "Q-BROKEN", "name": 张' and bad["_error"] is not None
    rows = data_rows(d)
    assert rows[0] == qualification(1) and rows[BAD_LINE] == qualification(BAD_LINE)
    assert rows[-1] == qualification(N_ITEMS - 1)
    assert [w.row for w in d.warnings] == [BAD_LINE]
    # the digest is over the canonical JSON of the items received, in order
    items = [qualification(i) for i in range(1, N_ITEMS)]
    items.insert(BAD_LINE - 1, {"_unparseable": '{"certNo": "Q-BROKEN", "name": 张'})
    canonical = "[" + ",".join(json.dumps(i, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
                               for i in items) + "]"
    assert d.sha256 == hashlib.sha256(canonical.encode()).hexdigest() and d.size_bytes == len(canonical.encode())


def test_items_pass_to_the_landing_a_chunk_at_a_time(root, tmp_path, monkeypatch):
    """The raw landing's way: the items pass to its writer a chunk at a time as the pages come; the file landed is
    the table read whole, with the same counts, warnings and digest."""
    import pyarrow.parquet as pq

    from jilin_pipelines.lake import PartitionWriter
    from jilin_pipelines.sources import collector

    with ApiServer(root, token=TOKEN) as server:
        whole = fetch(server.url, page_size=500)
        monkeypatch.setattr(collector, "CHUNK_ROWS", 97)
        landed = tmp_path / "landed.parquet"
        client = ApiClient(server.url, TOKEN, page_size=500, backoff=0.01)
        try:
            with PartitionWriter(landed) as writer:
                streamed = client.fetch("transport", "practitioner_qualifications", DAY, COLUMNS, sink=writer)
                writer.commit()
        finally:
            client.close()
    assert pq.read_table(landed).equals(whole.table)
    assert streamed.table.num_rows == 0 and streamed.streamed == (N_ITEMS, 1)
    assert [str(w) for w in streamed.warnings] == [str(w) for w in whole.warnings]
    assert (streamed.sha256, streamed.size_bytes) == (whole.sha256, whole.size_bytes)


def test_same_items_same_digest_whatever_the_page_size(root):
    with ApiServer(root, token=TOKEN) as server:
        a = fetch(server.url, page_size=1000)
        b = fetch(server.url, page_size=333)
    assert a.sha256 == b.sha256 and a.table.equals(b.table)


def test_429_retry_after_is_honoured(root):
    with ApiServer(root, token=TOKEN, rate_limit_per_second=2, retry_after=1) as server:
        started = time.monotonic()
        d = fetch(server.url, page_size=1000, max_retries=3)
        elapsed = time.monotonic() - started
        statuses = server.statuses
    assert d.delivered_rows == N_ITEMS
    assert statuses[429] >= 1 and statuses[200] == 4
    assert elapsed >= 1.0  # it waited as asked instead of hammering


def test_429_wait_is_bounded(root):
    with ApiServer(root, token=TOKEN, rate_limit_per_second=3, retry_after=3600) as server:
        started = time.monotonic()
        d = fetch(server.url, page_size=1000, max_retries=10, max_retry_after=0.3)
        assert time.monotonic() - started < 10  # not an hour
        assert server.statuses[429] >= 1
    assert d.delivered_rows == N_ITEMS


def test_5xx_is_retried_then_succeeds(root):
    with ApiServer(root, token=TOKEN, fail_every=2) as server:
        d = fetch(server.url, page_size=1000)
        statuses = server.statuses
    assert d.delivered_rows == N_ITEMS and d.table.column("_source_row").to_pylist()[-1] == N_ITEMS
    assert statuses[503] >= 2 and statuses[200] == 4


def test_random_5xx_with_a_seed_still_lands_everything(root):
    with ApiServer(root, token=TOKEN, fail_rate=0.4, seed=7) as server:
        d = fetch(server.url, page_size=200, max_retries=8)
        assert server.statuses.get(503, 0) >= 1
    assert d.delivered_rows == N_ITEMS


def test_persistent_5xx_fails_clearly(root):
    with ApiServer(root, token=TOKEN, fail_rate=1.0, fail_status=502) as server:
        with pytest.raises(DeliveryError) as err:
            fetch(server.url, max_retries=2)
        assert server.statuses == {502: 3}
    msg = str(err.value)
    assert "HTTP 502" in msg and "3 attempts" in msg and "/api/v1/transport/practitioner_qualifications" in msg


def test_bad_token_fails_fast_without_showing_it(root):
    with ApiServer(root, token="the-right-one") as server:
        with pytest.raises(DeliveryError) as err:
            fetch(server.url, max_retries=5)
        assert server.statuses == {401: 1}
    msg = str(err.value)
    assert "401" in msg and f"{server.url}/api/v1/transport/practitioner_qualifications" in msg
    assert TOKEN not in msg and "the-right-one" not in msg
    assert TOKEN not in repr(ApiClient(server.url, TOKEN))


def test_credentials_in_the_base_url_never_reach_the_location(root):
    with ApiServer(root, token=TOKEN) as server:
        url = server.url.replace("http://", "http://user:pw@")
        d = fetch(url)
    assert "pw" not in d.location and "user" not in d.location


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).hits.append(self.headers.get("Authorization", ""))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_redirect_to_another_host_is_not_followed(root):
    other = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    _Recorder.hits = []
    try:
        target = f"http://localhost:{other.server_address[1]}"
        with ApiServer(root, token=TOKEN, redirect_to=target) as server:
            with pytest.raises(DeliveryError) as err:
                fetch(server.url)
            assert server.statuses == {302: 1}
    finally:
        other.shutdown()
        other.server_close()
    assert "another host" in str(err.value) and "localhost" in str(err.value)
    assert _Recorder.hits == []  # the other host never saw a request, let alone the token
    assert TOKEN not in str(err.value)


def test_unknown_dataset_and_day_without_file(root):
    with ApiServer(root, token=TOKEN) as server, ApiClient(server.url, TOKEN) as client:
        with pytest.raises(DeliveryError, match="unknown dataset") as err:
            client.fetch("transport", "no_such_dataset", DAY, None)
        assert "/api/v1/transport/no_such_dataset" in str(err.value)
        d = client.fetch("social_security", "assistance_applications", DAY, ["applicationId"])
    assert d.location is None and d.delivered_rows == 0 and d.table.column_names[0] == "applicationId"
    assert "no delivery" in str(d.warnings[0])


def test_server_answers_bad_parameters_with_400(root):
    with ApiServer(root, token=TOKEN) as server:
        base = f"{server.url}/api/v1/transport/practitioner_qualifications"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for query in ["", "?date=2025-6-1", "?date=2025-02-30", "?date=2025-06-01&page=0",
                      "?date=2025-06-01&page=x", "?date=2025-06-01&page_size=-1"]:
            assert requests.get(base + query, headers=auth, timeout=5).status_code == 400, query
        answer = requests.get(base + "?date=2025-06-01&page=2&page_size=5000", headers=auth, timeout=5).json()
        assert answer["page_size"] == 1000 and answer["total"] == N_ITEMS and len(answer["items"]) == 1000
        # page 2 starts with item 1001, the line that is not JSON, served so that nothing is lost
        assert answer["items"][0] == {"_unparseable": '{"certNo": "Q-BROKEN", "name": 张'}
        assert answer["items"][1]["certNo"] == "Q001001"
        past = requests.get(base + "?date=2025-06-01&page=9", headers=auth, timeout=5).json()
        assert past["items"] == [] and past["total"] == N_ITEMS
        assert requests.get(base + "?date=2025-06-01", timeout=5).status_code == 401
        assert requests.get(f"{server.url}/api/v1/transport/..%2F..", headers=auth, timeout=5).status_code == 404


def test_total_mismatch_is_an_error(root):
    """A server whose pages do not add up to its total (here: one that ignores paging)."""

    class Broken(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = json.dumps({"date": "2025-06-01", "total": 3, "items": [qualification(1)]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(DeliveryError, match="more than the announced total 3"):
            fetch(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


def test_connection_refused_is_retried_then_fails(root):
    with ApiServer(root, token=TOKEN) as server:
        url = server.url
    with pytest.raises(DeliveryError, match="ConnectionError after 3 attempts"):
        fetch(url, max_retries=2)


def test_redirect_on_the_same_host_is_followed_with_the_token():
    seen = []

    class Moved(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append((self.path.split("?")[0], self.headers.get("Authorization")))
            if self.path.startswith("/old/"):
                self.send_response(301)
                self.send_header("Location", "/new/" + self.path[len("/old/"):])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            page = int(self.path.split("page=")[1].split("&")[0])
            items = [qualification(1)] if page == 1 else []
            body = json.dumps({"date": "2025-06-01", "page": page, "total": 1, "items": items}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Moved)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        d = fetch(f"http://127.0.0.1:{server.server_address[1]}/old")
    finally:
        server.shutdown()
        server.server_close()
    assert d.delivered_rows == 1 and data_rows(d) == [qualification(1)]
    assert "/old/api/v1/transport/practitioner_qualifications" in d.location
    assert [p for p, _ in seen] == ["/old/api/v1/transport/practitioner_qualifications",
                                    "/new/api/v1/transport/practitioner_qualifications"] * 2
    assert all(auth == f"Bearer {TOKEN}" for _, auth in seen)


def test_serve_runs_in_the_foreground_for_the_command(root):
    """``serve`` is what ``jilin-pipelines serve-sources`` runs: a blocking server printing its URL."""
    import subprocess
    import sys

    code = ("import sys; from jilin_tools.api_server import serve; "
            "serve(sys.argv[1], host='127.0.0.1', port=0, token=sys.argv[2])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(root), TOKEN], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving ") and "http://127.0.0.1:" in line
        url = line.split(" on ")[1].split("/api/v1/")[0]
        d = fetch(url, page_size=1000)
        assert d.delivered_rows == N_ITEMS
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _serve(handler) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_a_server_that_trickles_is_cut_off_at_the_deadline(root):
    """One byte every half second never trips the per-read timeout; the delivery's deadline stops it."""

    class Trickle(_Quiet):
        def do_GET(self):  # noqa: N802
            body = json.dumps({"date": "2025-06-01", "total": 1, "items": [qualification(1)]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for b in body:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass  # the client hung up

    server, url = _serve(Trickle)
    began = time.monotonic()
    try:
        with pytest.raises(SourceUnavailable, match="no complete delivery within 2 s"):
            fetch(url, deadline=2.0, max_retries=0)
    finally:
        server.shutdown()
        server.server_close()
    assert time.monotonic() - began < 6


def test_pages_that_never_run_out_are_refused(root):
    """A server announcing a huge total whose pages never run out: refused at once, or at the deadline."""

    class Endless(_Quiet):
        total = 10**9

        def do_GET(self):  # noqa: N802
            body = json.dumps({"date": "2025-06-01", "total": Endless.total, "items": [qualification(1)]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server, url = _serve(Endless)
    try:
        with pytest.raises(DeliveryError, match="more than any delivery holds"):
            fetch(url)
        Endless.total = 40_000_000  # plausible, but one item a page: the deadline ends it
        began = time.monotonic()
        with pytest.raises(SourceUnavailable, match="no complete delivery within 1 s"):
            fetch(url, deadline=1.0)
        assert time.monotonic() - began < 5
    finally:
        server.shutdown()
        server.server_close()


def test_a_one_letter_token_does_not_mangle_the_error(root):
    with ApiServer(root, token=TOKEN) as server:
        url = server.url
    with pytest.raises(SourceUnavailable) as err:
        client = ApiClient(url, "T", backoff=0.01, max_retries=0)
        try:
            client.fetch("transport", "practitioner_qualifications", DAY, COLUMNS)
        finally:
            client.close()
    assert "ConnectionError" in str(err.value) and "***" not in str(err.value)


def test_the_stand_in_serves_a_deeply_nested_record_as_unparseable(tmp_path):
    root = tmp_path / "sources"
    d = root / "transport" / "practitioner_qualifications"
    d.mkdir(parents=True)
    nested = "[" * 100_000 + "]" * 100_000
    lines = [json.dumps(qualification(1)), '{"certNo": "Q2", "deep": ' + nested + "}"]
    (d / "practitioner_qualifications_20250601.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with ApiServer(root, token=TOKEN) as server:
        delivery = fetch(server.url)
    assert delivery.delivered_rows == 2 and delivery.unparseable_rows == 1


def test_a_provider_of_many_is_read_from_its_own_folder(root):
    """``?provider=CODE``: the provider's own file (``<dataset>/<CODE>/``); another provider's, or the dataset's
    one-provider file, is not it; a provider code that is no plain name is refused before any request."""
    mine = root / "transport" / "practitioner_qualifications" / "220102"
    mine.mkdir()
    (mine / "practitioner_qualifications_20250601.jsonl").write_text(
        json.dumps(qualification(7), ensure_ascii=False) + "\n", encoding="utf-8")
    with ApiServer(root, token=TOKEN) as server:
        client = ApiClient(server.url, TOKEN, backoff=0.01)
        try:
            own = client.fetch("transport", "practitioner_qualifications", DAY, COLUMNS, provider="220102")
            other = client.fetch("transport", "practitioner_qualifications", DAY, COLUMNS, provider="220103")
            with pytest.raises(DeliveryError, match="provider"):
                client.fetch("transport", "practitioner_qualifications", DAY, COLUMNS, provider="../x")
        finally:
            client.close()
    check_invariants(own)
    assert data_rows(own) == [qualification(7)]
    assert own.location.endswith("?date=2025-06-01&provider=220102")
    assert not other.delivered and other.delivered_rows == 0
