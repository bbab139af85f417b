"""Dataset registry: explicit paths, archives extracted once, data dir, download, safety."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import socket
import struct
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from lesson7.data.datasets import (
    REGISTRY,
    default_data_dir,
    download_file,
    extract_archive,
    register_dataset,
    resolve_dataset,
)


def make_tgz(path: Path, files: dict[str, bytes], top: str | None = "ds") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/www; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.RequestHandlerClass.log_message = lambda *a, **k: None
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def registered():
    """Register throw-away dataset names; remove them afterwards."""
    names = []

    def add(name, url, sha256):
        names.append(name)
        return register_dataset(name, url, sha256)

    yield add
    for n in names:
        REGISTRY.pop(n, None)


def test_explicit_folder_is_used_as_is(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    assert resolve_dataset(folder, data_dir=tmp_path / "cache") == folder
    assert resolve_dataset(str(folder), data_dir=tmp_path / "cache") == folder


def test_explicit_tgz_is_extracted_once(tmp_path):
    archive = make_tgz(tmp_path / "toy.tgz", {"a/1.txt": b"one", "b/2.txt": b"two"})
    cache = tmp_path / "cache"
    out = resolve_dataset(archive, data_dir=cache)
    assert out == cache / "toy" and (out / "a" / "1.txt").read_bytes() == b"one"
    (out / "a" / "1.txt").write_bytes(b"edited")           # a re-extraction would undo this
    assert resolve_dataset(archive, data_dir=cache) == out
    assert (out / "a" / "1.txt").read_bytes() == b"edited"
    assert not [p for p in cache.iterdir() if ".extract-" in p.name]


def test_zip_archive_and_multi_top_level(tmp_path):
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as zf:
        zf.writestr("x/1.txt", "1")
        zf.writestr("y/2.txt", "2")
    out = resolve_dataset(tmp_path / "z.zip", data_dir=tmp_path / "cache")
    assert sorted(p.name for p in out.iterdir()) == ["x", "y"]


def test_registered_name_found_in_data_dir(tmp_path, registered):
    cache = tmp_path / "cache"
    archive = make_tgz(tmp_path / "toyset.tgz", {"f.txt": b"hi"}, top="toyset")
    registered("toyset", "http://127.0.0.1:9/toyset.tgz", sha(archive))
    (cache / "archives").mkdir(parents=True)
    (cache / "archives" / "toyset.tgz").write_bytes(archive.read_bytes())
    out = resolve_dataset("toyset", data_dir=cache, download=False)
    assert out == cache / "toyset" and (out / "f.txt").read_bytes() == b"hi"
    (cache / "archives" / "toyset.tgz").unlink()           # now served from the folder
    assert resolve_dataset("toyset", data_dir=cache, download=False) == out


def test_data_dir_defaults_to_env(tmp_path, monkeypatch, registered):
    archive = make_tgz(tmp_path / "envset.tgz", {"f.txt": b"x"}, top="envset")
    registered("envset", "http://127.0.0.1:9/envset.tgz", sha(archive))
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "envcache"))
    (tmp_path / "envcache").mkdir()
    (tmp_path / "envcache" / "envset.tgz").write_bytes(archive.read_bytes())
    assert resolve_dataset("envset") == tmp_path / "envcache" / "envset"


def test_default_data_dir_rule(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "data"           # LESSON7_DATA wins
    monkeypatch.delenv("LESSON7_DATA")
    assert default_data_dir() == tmp_path / "xdg" / "lesson7"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_data_dir() == Path.home() / ".cache" / "lesson7"


def test_download_from_local_server_with_checksum(tmp_path, server, registered):
    url, www = server
    archive = make_tgz(www / "web.tgz", {"d/1.txt": b"data"}, top="web")
    registered("web", f"{url}/web.tgz", sha(archive))
    cache = tmp_path / "cache"
    out = resolve_dataset("web", data_dir=cache)
    assert (out / "d" / "1.txt").read_bytes() == b"data"
    assert (cache / "archives" / "web.tgz").is_file()
    assert not list((cache / "archives").glob("*.part"))


def test_bad_checksum_is_an_error_and_leaves_no_file(tmp_path, server, registered):
    url, www = server
    make_tgz(www / "bad.tgz", {"1.txt": b"x"}, top="bad")
    registered("bad", f"{url}/bad.tgz", "0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="checksum mismatch.*bad.tgz"):
        resolve_dataset("bad", data_dir=cache)
    assert not list((cache / "archives").iterdir()) and not (cache / "bad").exists()


def test_404_and_offline_errors_name_the_url_and_the_fix(tmp_path, server, registered):
    url, _ = server
    registered("gone", f"{url}/gone.tgz", "0" * 64)
    with pytest.raises(OSError, match=rf"{url}/gone.tgz.*--data PATH") as err:
        resolve_dataset("gone", data_dir=tmp_path / "cache")
    assert "gone.tgz into" in str(err.value)
    with socket.socket() as s:                       # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    registered("offline", f"http://127.0.0.1:{port}/offline.tgz", "0" * 64)
    with pytest.raises(OSError, match=f"127.0.0.1:{port}/offline.tgz"):
        resolve_dataset("offline", data_dir=tmp_path / "cache")
    with pytest.raises(OSError, match="not in"):
        resolve_dataset("offline", data_dir=tmp_path / "cache", download=False)
    assert not list((tmp_path / "cache" / "archives").glob("*"))


def test_download_file_direct(tmp_path, server):
    url, www = server
    (www / "blob.bin").write_bytes(b"12345")
    dest = download_file(f"{url}/blob.bin", tmp_path / "dl" / "blob.bin",
                         hashlib.sha256(b"12345").hexdigest())
    assert dest.read_bytes() == b"12345"


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "ok/../../evil.txt"])
def test_path_traversal_members_are_refused(tmp_path, name):
    archive = make_tgz(tmp_path / "evil.tgz", {name: b"x"}, top=None)
    with pytest.raises(ValueError, match="outside the target"):
        extract_archive(archive, tmp_path / "out" / "evil")
    assert not (tmp_path / "out" / "evil").exists() and not (tmp_path / "evil.txt").exists()
    assert not [p for p in (tmp_path / "out").iterdir()]   # temp folder removed too


def test_link_members_are_refused(tmp_path):
    archive = tmp_path / "links.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("ds/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(ValueError, match="symlink"):
        extract_archive(archive, tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../up.txt", "x")
    with pytest.raises(ValueError, match="outside the target"):
        resolve_dataset(tmp_path / "evil.zip", data_dir=tmp_path / "cache")


def test_corrupt_archive_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.tgz"
    bad.write_bytes(b"\x1f\x8b\x08\x00 definitely not gzip data")
    with pytest.raises(ValueError, match=r"cannot read archive.*broken\.tgz"):
        resolve_dataset(bad, data_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "broken").exists()
    good = make_tgz(tmp_path / "trunc.tgz", {f"{i}.bin": bytes(5000) * (i + 1) for i in range(5)})
    (tmp_path / "t2.tgz").write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="t2.tgz"):
        resolve_dataset(tmp_path / "t2.tgz", data_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "t2").exists()


def test_unknown_name_and_missing_path(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'nonesuch'.*mnist_png"):
        resolve_dataset("nonesuch", data_dir=tmp_path)
    with pytest.raises(ValueError, match="not found"):
        resolve_dataset(tmp_path / "missing.tgz", data_dir=tmp_path)


def test_mnist_is_registered_with_the_known_checksum():
    spec = REGISTRY["mnist_png"]
    assert spec.url == "https://s3.amazonaws.com/fast-ai-imageclas/mnist_png.tgz"
    assert spec.sha256 == "5249d35715c4c206a4bb68d365d9d5335563f81527a75d23455cc3b487f8d4ec"


# ---------------------------------------------------------------------------------------------
# Extraction caps (a small archive of zeros must not fill the disk)


def make_zeros_zip(path: Path, sizes: list[int]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, size in enumerate(sizes):
            zf.writestr(f"zeros/{i}.bin", bytes(size))
    return path


def assert_nothing_extracted(out: Path) -> None:
    assert not out.exists()
    assert not list(out.parent.iterdir())                    # no temporary folder either


@pytest.mark.parametrize("kind", ["tgz", "zip"])
def test_archive_over_the_byte_cap_is_refused(tmp_path, monkeypatch, kind):
    monkeypatch.setenv("LESSON7_MAX_EXTRACT_BYTES", "100000")
    if kind == "tgz":
        archive = make_tgz(tmp_path / "zeros.tgz", {f"{i}.bin": bytes(60_000) for i in range(5)})
    else:
        archive = make_zeros_zip(tmp_path / "zeros.zip", [60_000] * 5)
    assert archive.stat().st_size < 5_000                    # compresses ~100x
    (tmp_path / "out").mkdir()
    with pytest.raises(ValueError, match=rf"zeros\.{kind}'.*300,000 bytes uncompressed, over "
                                         r"the cap of 100,000; set LESSON7_MAX_EXTRACT_BYTES"):
        extract_archive(archive, tmp_path / "out" / "zeros")
    assert_nothing_extracted(tmp_path / "out" / "zeros")
    monkeypatch.setenv("LESSON7_MAX_EXTRACT_BYTES", "300000")  # raised: now it fits
    out = extract_archive(archive, tmp_path / "out" / "zeros")
    assert sum(f.stat().st_size for f in out.rglob("*.bin")) == 300_000


@pytest.mark.parametrize("kind", ["tgz", "zip"])
def test_archive_over_the_member_cap_is_refused(tmp_path, monkeypatch, kind):
    monkeypatch.setenv("LESSON7_MAX_EXTRACT_MEMBERS", "3")
    if kind == "tgz":
        archive = make_tgz(tmp_path / "many.tgz", {f"{i}.bin": b"" for i in range(10)}, top=None)
        count = "at least 4"                                 # tar: stops reading at cap + 1
    else:
        archive = make_zeros_zip(tmp_path / "many.zip", [0] * 10)
        count = "10"
    (tmp_path / "out").mkdir()
    with pytest.raises(ValueError, match=rf"many\.{kind}'.*: {count} members, over the cap of 3; "
                                         r"set LESSON7_MAX_EXTRACT_MEMBERS"):
        resolve_dataset(archive, data_dir=tmp_path / "out")
    assert_nothing_extracted(tmp_path / "out" / "many")


def test_zip_whose_header_understates_the_size_writes_at_most_the_cap(tmp_path, monkeypatch):
    archive = make_zeros_zip(tmp_path / "liar.zip", [1_000_000])
    data = bytearray(archive.read_bytes())
    struct.pack_into("<I", data, 22, 10)                     # local header: uncompressed size
    struct.pack_into("<I", data, data.rfind(b"PK\x01\x02") + 24, 10)  # central directory
    archive.write_bytes(bytes(data))
    with zipfile.ZipFile(archive) as zf:
        assert zf.infolist()[0].file_size == 10              # the lie passes the declared check
    monkeypatch.setenv("LESSON7_MAX_EXTRACT_BYTES", "1000")
    (tmp_path / "out").mkdir()
    with pytest.raises(ValueError, match=r"liar\.zip"):
        extract_archive(archive, tmp_path / "out" / "liar")
    assert_nothing_extracted(tmp_path / "out" / "liar")


@pytest.mark.parametrize("value", ["lots", "0", "-5"])
def test_a_bad_cap_value_names_the_variable(tmp_path, monkeypatch, value):
    archive = make_tgz(tmp_path / "ok.tgz", {"f.txt": b"x"})
    monkeypatch.setenv("LESSON7_MAX_EXTRACT_MEMBERS", value)
    with pytest.raises(ValueError, match=rf"LESSON7_MAX_EXTRACT_MEMBERS must be .*{value}"):
        extract_archive(archive, tmp_path / "out")
