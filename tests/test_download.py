"""The downloader (pooch underneath) against a real HTTP server on 127.0.0.1 serving archives
built in tmp_path: good files, corrupted files, dropped connections, offline machines."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from samrefiner_lib.datasets.download import (
    LOCK_NAME,
    ChecksumError,
    ChecksumLock,
    DownloadUnavailableError,
    ManualDownloadRequired,
    RemoteFile,
    UnsafeArchiveError,
    extract_archive,
    extraction_marker,
    fetch,
)
from samrefiner_lib.datasets.registry import REGISTRY, checksum_table

FAST = {"progress": False, "retries": 0, "backoff": 0.01, "timeout": 5.0}


class _Server:
    """What the test server serves and what it has seen."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.no_range: set[str] = set()
        self.drops: dict[str, int] = {}  # path -> how many more responses to cut in half
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.lock = threading.Lock()
        self.url = ""

    def ranges_seen(self, path: str) -> list[str | None]:
        return [r for p, r in self.requests if p == path]


def _handler(state: _Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: closing = end of body

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            rng = self.headers.get("Range")
            with state.lock:
                state.requests.append((self.path, rng))
                data = state.files.get(self.path)
                drop = state.drops.get(self.path, 0) > 0
                if drop:
                    state.drops[self.path] -= 1
            if data is None:
                self.send_error(404)
                return
            start = 0
            if rng and self.path not in state.no_range:
                start = int(rng.split("=")[1].split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # A dropped connection: promise the whole body, send half, hang up.
            self.wfile.write(body[: len(body) // 2] if drop else body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture()
def server():
    state = _Server()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar_bytes(members: dict[str, bytes], mode: str = "w:gz", links: dict | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _spec(server: _Server, path: str, data: bytes | None, **kw) -> RemoteFile:
    kw.setdefault("checksum", None if data is None else _sha(data))
    return RemoteFile(
        name=path.strip("/"), urls=(server.url + path,), filename=path.strip("/"), **kw
    )


BIG = bytes(range(256)) * 4096  # 1 MiB: several read blocks, so a drop lands mid-file


def test_good_archive_downloads_verifies_and_extracts(server, tmp_path):
    payload = _zip_bytes({"ds/a.txt": b"alpha", "ds/sub/b.bin": BIG})
    server.files["/ds.zip"] = payload
    spec = _spec(server, "/ds.zip", payload, archive="zip", extract_to="out")
    dest = fetch(spec, tmp_path, progress=True, retries=0)
    assert dest == tmp_path / "out"
    assert (dest / "ds" / "a.txt").read_bytes() == b"alpha"
    assert (dest / "ds" / "sub" / "b.bin").read_bytes() == BIG
    assert (tmp_path / "ds.zip").read_bytes() == payload
    assert not (tmp_path / "ds.zip.part").exists()
    assert extraction_marker(tmp_path / "ds.zip", dest).is_file()
    entry = ChecksumLock(tmp_path).get("ds.zip")
    assert entry["policy"] == "published" and entry["sha256"] == _sha(payload)[7:]
    # Second call: already verified and extracted, no request at all.
    n = len(server.requests)
    assert fetch(spec, tmp_path, **FAST) == dest
    assert len(server.requests) == n


def test_published_md5_is_checked(server, tmp_path):
    server.files["/plain.bin"] = b"hello"
    spec = _spec(server, "/plain.bin", None, checksum="md5:" + hashlib.md5(b"hello").hexdigest())
    assert fetch(spec, tmp_path, **FAST).read_bytes() == b"hello"


def test_wrong_checksum_is_rejected_and_not_installed(server, tmp_path):
    server.files["/bad.zip"] = _zip_bytes({"x.txt": b"tampered"})
    spec = _spec(server, "/bad.zip", _zip_bytes({"x.txt": b"original"}), archive="zip")
    with pytest.raises(ChecksumError) as err:
        fetch(spec, tmp_path, **FAST)
    msg = str(err.value)
    assert "sha256" in msg and "NOT installed" in msg and server.url in msg
    # pooch checked a temporary file and deleted it: nothing of the bad bytes is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_wrong_size_is_rejected(server, tmp_path):
    server.files["/sized.bin"] = b"12345"
    spec = _spec(server, "/sized.bin", b"12345", size=6)
    with pytest.raises(ChecksumError, match="size is 5 bytes, expected 6"):
        fetch(spec, tmp_path, **FAST)
    assert not (tmp_path / "sized.bin").exists()
    assert not (tmp_path / "sized.bin.part").exists()  # a complete wrong file is not resumed


def test_dropped_connection_leaves_part_that_next_call_resumes(server, tmp_path):
    server.files["/big.bin"] = BIG
    server.drops["/big.bin"] = 1
    spec = _spec(server, "/big.bin", BIG)
    with pytest.raises(DownloadUnavailableError) as err:
        fetch(spec, tmp_path, **FAST)
    part = tmp_path / "big.bin.part"
    kept = part.stat().st_size
    assert 0 < kept <= len(BIG) // 2  # the server sent half before hanging up
    assert "resumes" in str(err.value) and not (tmp_path / "big.bin").exists()
    assert fetch(spec, tmp_path, **FAST).read_bytes() == BIG
    ranges = server.ranges_seen("/big.bin")
    assert ranges[0] is None and ranges[1] == f"bytes={kept}-"
    assert not part.exists()


def test_dropped_connection_is_retried_within_one_call(server, tmp_path):
    server.files["/big.bin"] = BIG
    server.drops["/big.bin"] = 2
    spec = _spec(server, "/big.bin", BIG)
    out = fetch(spec, tmp_path, **{**FAST, "retries": 3})
    assert out.read_bytes() == BIG
    ranges = server.ranges_seen("/big.bin")
    assert len(ranges) == 3 and all(r is not None for r in ranges[1:])


def test_server_without_range_support_still_gives_correct_file(server, tmp_path):
    server.files["/norange.bin"] = BIG
    server.no_range.add("/norange.bin")
    (tmp_path / "norange.bin.part").write_bytes(b"\xff" * 1000)  # leftover from a crash
    out = fetch(_spec(server, "/norange.bin", BIG), tmp_path, **FAST)
    assert out.read_bytes() == BIG
    assert server.ranges_seen("/norange.bin") == ["bytes=1000-"]


def test_stale_part_failing_verification_is_downloaded_again(server, tmp_path):
    server.files["/stale.bin"] = BIG
    (tmp_path / "stale.bin.part").write_bytes(b"\x00" * 4096)  # wrong bytes, Range appends
    out = fetch(_spec(server, "/stale.bin", BIG), tmp_path, **FAST)
    assert out.read_bytes() == BIG
    assert server.ranges_seen("/stale.bin") == ["bytes=4096-", None]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_names_url_and_path_then_manual_file_is_used(tmp_path):
    payload = _zip_bytes({"d/readme.txt": b"by hand"})
    url = f"http://127.0.0.1:{_closed_port()}/data.zip"
    spec = RemoteFile("data", (url,), "data.zip", checksum=_sha(payload), archive="zip",
                      extract_to="data")  # fmt: skip
    with pytest.raises(DownloadUnavailableError) as err:
        fetch(spec, tmp_path, **FAST)
    msg = str(err.value)
    target = tmp_path / "data.zip"
    assert url in msg and str(target) in msg and "offline" in msg
    assert err.value.path == target and err.value.urls == (url,)
    target.write_bytes(payload)  # the user fetched it by hand
    out = fetch(spec, tmp_path, **FAST)
    assert (out / "d" / "readme.txt").read_bytes() == b"by hand"
    assert ChecksumLock(tmp_path).get("data.zip")["source"] == "placed by hand"


def test_bad_file_placed_by_hand_is_quarantined_and_replaced(server, tmp_path):
    server.files["/f.bin"] = b"good bytes"
    (tmp_path / "f.bin").write_bytes(b"bad bytes")
    out = fetch(_spec(server, "/f.bin", b"good bytes"), tmp_path, **FAST)
    assert out.read_bytes() == b"good bytes"
    assert (tmp_path / "f.bin.corrupt").read_bytes() == b"bad bytes"


def test_manual_entry_explains_where_to_put_the_file(tmp_path):
    spec = RemoteFile("drive", ("https://drive.example/folder",), "D.zip", manual=True,
                      archive="zip", extract_to="raw")  # fmt: skip
    with pytest.raises(ManualDownloadRequired) as err:
        fetch(spec, tmp_path, **FAST)
    assert "https://drive.example/folder" in str(err.value)
    assert str(tmp_path / "D.zip") in str(err.value)
    (tmp_path / "D.zip").write_bytes(_zip_bytes({"seq/init_sp_o_1.png": b"x"}))
    assert (fetch(spec, tmp_path, **FAST) / "seq" / "init_sp_o_1.png").exists()
    assert ChecksumLock(tmp_path).get("D.zip")["policy"] == "trust-on-first-use"


@pytest.mark.parametrize(
    "members",
    [
        {"../evil.txt": b"x"},
        {"ok/../../evil.txt": b"x"},
        {"/abs/evil.txt": b"x"},
        {"..\\evil.txt": b"x"},
    ],
)
def test_zip_path_traversal_is_refused(tmp_path, members):
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip_bytes({"fine.txt": b"ok", **members}))
    dest = tmp_path / "sub" / "dest"
    with pytest.raises(UnsafeArchiveError, match="refusing"):
        extract_archive(archive, dest)
    assert not (tmp_path / "sub" / "evil.txt").exists()
    assert not (tmp_path / "evil.txt").exists()
    assert not extraction_marker(archive, dest).exists()


@pytest.mark.parametrize(
    ("members", "links"),
    [
        ({"../evil.txt": b"x"}, None),
        ({"/abs.txt": b"x"}, None),
        ({"a.txt": b"x"}, {"link": "../../outside"}),
        ({"a.txt": b"x"}, {"link": "/etc/passwd"}),
    ],
)
def test_tar_path_traversal_and_escaping_links_are_refused(tmp_path, members, links):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar_bytes(members, links=links))
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError):
        extract_archive(archive, dest)
    assert not (tmp_path / "evil.txt").exists()
    assert not extraction_marker(archive, dest).exists()


def test_tar_and_tar_gz_extract_with_marker(server, tmp_path):
    for suffix, mode, kind in (("tar", "w", "tar"), ("tgz", "w:gz", "tar.gz")):
        payload = _tar_bytes({"top/x.txt": b"tar-" + kind.encode()}, mode=mode)
        server.files[f"/t.{suffix}"] = payload
        spec = _spec(server, f"/t.{suffix}", payload, archive=kind, extract_to=kind)
        out = fetch(spec, tmp_path, **FAST)
        assert (out / "top" / "x.txt").read_bytes() == b"tar-" + kind.encode()
        marker = json.loads(extraction_marker(tmp_path / f"t.{suffix}", out).read_text())
        assert marker["members"] == 1


def test_interrupted_extraction_is_redone(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip_bytes({"d/x.txt": b"v1"}))
    dest = tmp_path / "dest"
    (dest / "d").mkdir(parents=True)
    (dest / "d" / "x.txt").write_bytes(b"trunc")  # no marker: as if killed mid-way
    extract_archive(archive, dest)
    assert (dest / "d" / "x.txt").read_bytes() == b"v1"


def test_trust_on_first_use_records_then_enforces(server, tmp_path, capsys):
    server.files["/tofu.bin"] = b"first version"
    spec = _spec(server, "/tofu.bin", None)
    assert spec.trust_on_first_use
    fetch(spec, tmp_path, **FAST)
    err = capsys.readouterr().err
    sha = hashlib.sha256(b"first version").hexdigest()
    assert "trust on first use" in err and sha in err
    lock = json.loads((tmp_path / LOCK_NAME).read_text())
    assert lock["files"]["tofu.bin"]["sha256"] == sha
    assert lock["files"]["tofu.bin"]["policy"] == "trust-on-first-use"
    # Upstream changes: a fresh download must now be refused.
    (tmp_path / "tofu.bin").unlink()
    server.files["/tofu.bin"] = b"second version"
    with pytest.raises(ChecksumError, match="recorded") as exc:
        fetch(spec, tmp_path, **FAST)
    assert LOCK_NAME in str(exc.value)
    assert not (tmp_path / "tofu.bin").exists()
    # The original bytes, placed by hand, still verify.
    (tmp_path / "tofu.bin").write_bytes(b"first version")
    assert fetch(spec, tmp_path, **FAST).read_bytes() == b"first version"


def test_registry_entries_are_well_formed():
    for spec in REGISTRY.values():
        assert spec.urls and spec.filename and spec.checksum_source
        if spec.checksum is None:
            assert "trust on first use" in spec.checksum_source
    assert REGISTRY["voc2012_trainval"].checksum == "md5:6cd6e144f989b92b3379bac3b3de84fd"
    assert REGISTRY["davis585"].manual
    assert {row["name"] for row in checksum_table()} == set(REGISTRY)


def test_bad_checksum_strings_are_refused():
    with pytest.raises(ValueError, match="md5"):
        RemoteFile("x", ("http://h/x",), "x", checksum="md5:1234")
    with pytest.raises(ValueError, match="checksum must look like"):
        RemoteFile("x", ("http://h/x",), "x", checksum="crc32:00000000")
    with pytest.raises(ValueError, match="bare file name"):
        RemoteFile("x", ("http://h/x",), "../x")


def test_data_scripts_offer_help():
    import subprocess
    import sys

    scripts = sorted((Path(__file__).resolve().parents[1] / "data_scripts").glob("get_*.py"))
    assert len(scripts) >= 8
    for script in scripts:
        out = subprocess.run(
            [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert "--root" in out.stdout


def test_extract_selected_zip_members(tmp_path):
    from samrefiner_lib.datasets.download import DownloadError, extract_zip_members

    archive = tmp_path / "imgs.zip"
    archive.write_bytes(
        _zip_bytes({"a/1.txt": b"1", "a/2.txt": b"2", "b/3.txt": b"3", "../x": b""})
    )
    dest = tmp_path / "out"
    assert extract_zip_members(archive, dest, ["a/2.txt", "b/3.txt"], progress=False) == 2
    assert sorted(p.name for p in dest.rglob("*.txt")) == ["2.txt", "3.txt"]
    with pytest.raises(DownloadError, match="not in the archive"):
        extract_zip_members(archive, dest, ["a/9.txt"], progress=False)
    with pytest.raises(UnsafeArchiveError):
        extract_zip_members(archive, dest, ["../x"], progress=False)


def test_complete_part_from_an_earlier_run_is_not_downloaded_again(server, tmp_path):
    server.files["/whole.bin"] = BIG
    (tmp_path / "whole.bin.part").write_bytes(BIG)  # killed between download and rename
    assert fetch(_spec(server, "/whole.bin", BIG), tmp_path, **FAST).read_bytes() == BIG
    assert server.ranges_seen("/whole.bin") == [f"bytes={len(BIG)}-"]  # answered 416


def test_registry_does_not_import_the_downloader():
    """The registry is data; the downloader reads it (no import circle between the two)."""
    import ast

    import samrefiner_lib.datasets.registry as registry_module

    tree = ast.parse(Path(registry_module.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    package = {m for m in imported if m.startswith(".") or m.startswith("samrefiner_lib")}
    assert package == set(), f"registry.py imports {package}"
    assert RemoteFile is registry_module.RemoteFile  # download.py re-exports the same class


def test_transfers_go_through_pooch(server, tmp_path, monkeypatch):
    import pooch

    calls = []
    real_fetch = pooch.Pooch.fetch

    def spy(self, fname, *args, **kwargs):
        calls.append((fname, self.registry[fname]))
        return real_fetch(self, fname, *args, **kwargs)

    monkeypatch.setattr(pooch.Pooch, "fetch", spy)
    server.files["/p.bin"] = b"payload"
    spec = _spec(server, "/p.bin", b"payload")
    assert fetch(spec, tmp_path, **FAST).read_bytes() == b"payload"
    assert calls == [("p.bin", spec.checksum)]  # the published hash is pooch's known_hash


def test_server_error_is_retried_then_next_mirror_is_used(server, tmp_path):
    server.files["/m.bin"] = b"mirror copy"
    dead = f"{server.url}/gone.bin"  # 404: not worth retrying, go to the next mirror
    spec = RemoteFile("m", (dead, f"{server.url}/m.bin"), "m.bin",
                      checksum=_sha(b"mirror copy"))  # fmt: skip
    assert fetch(spec, tmp_path, **{**FAST, "retries": 2}).read_bytes() == b"mirror copy"
    assert server.ranges_seen("/gone.bin") == [None]
    assert ChecksumLock(tmp_path).get("m.bin")["source"] == f"{server.url}/m.bin"
