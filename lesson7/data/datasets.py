"""Dataset registry: a name or a path -> a local folder (download, checksum, safe extraction).

Resolution order of ``resolve_dataset(name_or_path, data_dir)``:
1. an explicit path: a folder is used as is; an archive (.tgz/.tar.gz/.tar/.zip/...) is extracted
   once into ``<data_dir>/<archive stem>/`` and reused on later calls;
2. a registered name already in the data dir: ``<data_dir>/<name>/`` (a folder), else the archive
   ``<data_dir>/archives/<file>`` or ``<data_dir>/<file>`` (checked against its sha256, extracted);
3. a download of the registered URL into ``<data_dir>/archives/`` with a tqdm progress bar (quiet
   when stderr is not a terminal) and a sha256 check, then extraction.

The data dir is ``data_dir`` if given, else ``$LESSON7_DATA``, else ``$XDG_CACHE_HOME/lesson7``
(``~/.cache/lesson7``). Nothing half-written survives a failure: downloads go to a ``.part`` file
that is verified and renamed; archives are extracted into a temporary folder that is renamed into
place. Extraction refuses members that would land outside the target (``..``, absolute paths),
links (symlinks, hardlinks) and device files, naming the member, and archives whose members
add up to more than ``$LESSON7_MAX_EXTRACT_BYTES`` (default 20 GiB) uncompressed or number more
than ``$LESSON7_MAX_EXTRACT_MEMBERS`` (default 1,000,000): a small archive of zeros can expand
to fill a disk.

Refs: fastai v1 ``untar_data`` / ``URLs``; Python docs, tarfile "Extraction filters" (PEP 706).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

__all__ = [
    "DATA_ENV",
    "DatasetSpec",
    "REGISTRY",
    "register_dataset",
    "default_data_dir",
    "resolve_dataset",
    "download_file",
    "extract_archive",
    "sha256_file",
    "MAX_BYTES_ENV",
    "MAX_MEMBERS_ENV",
]

DATA_ENV = "LESSON7_DATA"
MAX_BYTES_ENV = "LESSON7_MAX_EXTRACT_BYTES"
MAX_MEMBERS_ENV = "LESSON7_MAX_EXTRACT_MEMBERS"
# Caps on what one archive may expand to. 20 GiB and a million files are far above the
# lesson's datasets (MNIST: 70k PNGs, ~0.1 GB); raise them with the environment variables.
DEFAULT_MAX_EXTRACT_BYTES = 20 * 2**30
DEFAULT_MAX_EXTRACT_MEMBERS = 1_000_000
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar", ".zip")


def _archive_stem(name: str) -> str | None:
    low = name.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if low.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


@dataclass(frozen=True)
class DatasetSpec:
    """A downloadable dataset: ``url`` of an archive whose sha256 is ``sha256``."""

    name: str
    url: str
    sha256: str

    @property
    def filename(self) -> str:
        """The archive's file name, the last part of the URL."""
        return self.url.rstrip("/").rsplit("/", 1)[-1]


REGISTRY: dict[str, DatasetSpec] = {}


def register_dataset(name: str, url: str, sha256: str) -> DatasetSpec:
    """Add (or replace) a named dataset; its archive must be one of ``ARCHIVE_SUFFIXES``."""
    spec = DatasetSpec(name, url, sha256.lower())
    if _archive_stem(spec.filename) is None:
        raise ValueError(f"dataset {name!r}: url must end in one of {ARCHIVE_SUFFIXES}, "
                         f"got {url!r}")
    REGISTRY[name] = spec
    return spec


# fastai's URLs.MNIST (lesson7-resnet-mnist.ipynb); the sha256 of the archive we tested with.
register_dataset("mnist_png", "https://s3.amazonaws.com/fast-ai-imageclas/mnist_png.tgz",
                 "5249d35715c4c206a4bb68d365d9d5335563f81527a75d23455cc3b487f8d4ec")


def default_data_dir() -> Path:
    """``$LESSON7_DATA``, else ``$XDG_CACHE_HOME/lesson7``, else ``~/.cache/lesson7``."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "lesson7"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Download


def download_file(url: str, dest: Path, sha256: str | None = None, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest`` atomically: into ``dest.part``, verify ``sha256``, rename.

    Raises ``OSError`` naming the URL when it cannot be fetched and ``ValueError`` on a checksum
    mismatch; in both cases no file is left behind.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.{os.getpid()}.part")
    try:
        try:
            response = urllib.request.urlopen(url, timeout=timeout)
        except (urllib.error.URLError, OSError) as e:
            raise OSError(f"cannot download {url}: {getattr(e, 'reason', e)}") from e
        with response, open(part, "wb") as f:
            total = int(response.headers.get("Content-Length") or 0) or None
            bar = tqdm(total=total, unit="B", unit_scale=True, desc=dest.name,
                       disable=not sys.stderr.isatty())
            with bar:
                while block := response.read(1 << 20):
                    f.write(block)
                    bar.update(len(block))
        if sha256 is not None and (got := sha256_file(part)) != sha256.lower():
            raise ValueError(f"checksum mismatch for {url}: expected sha256 {sha256}, got {got}; "
                             "the download was deleted")
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


# ---------------------------------------------------------------------------------------------
# Safe extraction


def _check_member_name(archive: Path, name: str) -> None:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or name.startswith(("/", "\\")) or ".." in pure.parts \
            or (len(name) > 1 and name[1] == ":"):
        raise ValueError(f"refusing to extract {str(archive)!r}: member {name!r} would be "
                         "written outside the target folder")


@dataclass(frozen=True)
class _ExtractCaps:
    """How much one archive may expand to: total bytes and number of members."""

    max_bytes: int
    max_members: int

    @classmethod
    def from_env(cls) -> _ExtractCaps:
        return cls(_env_cap(MAX_BYTES_ENV, DEFAULT_MAX_EXTRACT_BYTES),
                   _env_cap(MAX_MEMBERS_ENV, DEFAULT_MAX_EXTRACT_MEMBERS))

    def check_members(self, archive: Path, n: int, at_least: bool = False) -> None:
        if n > self.max_members:
            count = f"at least {n:,}" if at_least else f"{n:,}"
            raise ValueError(f"refusing to extract {str(archive)!r}: {count} members, over the "
                             f"cap of {self.max_members:,}; set {MAX_MEMBERS_ENV} to raise it")

    def check_bytes(self, archive: Path, total: int, what: str = "uncompressed") -> None:
        if total > self.max_bytes:
            raise ValueError(f"refusing to extract {str(archive)!r}: {total:,} bytes {what}, "
                             f"over the cap of {self.max_bytes:,}; set {MAX_BYTES_ENV} to "
                             "raise it")


def _env_cap(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {raw!r}")
    return value


def _safe_tar_members(archive: Path, tar: tarfile.TarFile,
                      caps: _ExtractCaps) -> list[tarfile.TarInfo]:
    members, total = [], 0
    for m in tar:  # one header at a time: stop before holding millions of them
        members.append(m)
        caps.check_members(archive, len(members), at_least=True)
        total += m.size  # tarfile writes exactly m.size bytes for a regular file
        _check_member_name(archive, m.name)
        if m.issym() or m.islnk():
            raise ValueError(f"refusing to extract {str(archive)!r}: member {m.name!r} is a "
                             f"{'symlink' if m.issym() else 'hardlink'} (to {m.linkname!r})")
        if not (m.isfile() or m.isdir()):
            raise ValueError(f"refusing to extract {str(archive)!r}: member {m.name!r} is not a "
                             "regular file or folder")
    caps.check_bytes(archive, total)
    return members


def _extract_zip(archive: Path, zf: zipfile.ZipFile, target: Path, caps: _ExtractCaps) -> None:
    """Check every member, then write them with a byte budget: the sizes in the central
    directory are checked against the cap first, and the bytes really written are counted too,
    so a header that understates a member's size cannot get past the cap. (CPython's zipfile
    also stops at the declared size and then fails the CRC check; the count does not rely on
    that.)"""
    infos = zf.infolist()
    caps.check_members(archive, len(infos))
    for info in infos:
        _check_member_name(archive, info.filename)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise ValueError(f"refusing to extract {str(archive)!r}: member "
                             f"{info.filename!r} is a symlink")
    caps.check_bytes(archive, sum(info.file_size for info in infos))
    written = 0
    for info in infos:
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if not parts:
            continue
        dest = target.joinpath(*parts)
        if info.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(dest, "wb") as out:
            while block := src.read(1 << 20):
                written += len(block)
                caps.check_bytes(archive, written, what="written so far")
                out.write(block)


def _extract_into(archive: Path, target: Path, caps: _ExtractCaps) -> None:
    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            _extract_zip(archive, zf, target, caps)
        return
    with tarfile.open(archive) as tar:
        members = _safe_tar_members(archive, tar, caps)
        tar.extractall(target, members=members, filter=_plain_member)


def _plain_member(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """Extraction filter: plain permissions, no owner change (names and types were checked by
    ``_safe_tar_members``). Cheaper than tarfile's "data" filter, whose per-member realpath
    calls cost ~10 s on MNIST's 70k files; with no links in the archive and a fresh target
    folder, those checks add nothing."""
    mode = 0o755 if member.isdir() else 0o644
    return member.replace(mode=mode, uid=None, gid=None, uname=None, gname=None, deep=False)


def extract_archive(archive: Path, target: Path) -> Path:
    """Extract ``archive`` into ``target`` atomically and return ``target``.

    Extraction happens in a temporary sibling folder that is renamed to ``target`` at the end.
    If the archive holds exactly one top-level folder (``mnist_png.tgz`` holds ``mnist_png/``),
    that folder becomes ``target``. Raises ``ValueError`` naming the archive when it is unreadable,
    has an unsafe member or expands past the caps (``$LESSON7_MAX_EXTRACT_BYTES``,
    ``$LESSON7_MAX_EXTRACT_MEMBERS``); ``target`` is then not created.
    """
    archive, target = Path(archive), Path(target)
    if not archive.is_file():
        raise FileNotFoundError(f"archive not found: {str(archive)!r}")
    caps = _ExtractCaps.from_env()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.extract-", dir=target.parent))
    try:
        try:
            _extract_into(archive, tmp, caps)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, zlib.error) as e:
            raise ValueError(f"cannot read archive {str(archive)!r} ({type(e).__name__}: {e}); "
                             "it is corrupt or not an archive: delete it and supply it "
                             "again") from e
        entries = [p for p in tmp.iterdir() if not p.name.startswith("._")]
        src = entries[0] if len(entries) == 1 and entries[0].is_dir() else tmp
        if target.exists():  # another process finished first: keep its copy
            return target
        os.replace(src, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _extract_cached(archive: Path, data_dir: Path, stem: str | None = None) -> Path:
    """Extract ``archive`` into ``data_dir/<stem>`` unless a copy from the same file is there."""
    stem = stem or _archive_stem(archive.name)
    if stem is None:
        raise ValueError(f"not a supported archive: {str(archive)!r}; expected one of "
                         f"{ARCHIVE_SUFFIXES}")
    target = Path(data_dir) / stem
    stamp = f"{archive.resolve()}|{archive.stat().st_size}|{archive.stat().st_mtime_ns}\n"
    marker = Path(data_dir) / f".{stem}.source"
    if target.is_dir():
        if not marker.is_file() or marker.read_text() == stamp:
            return target
        warnings.warn(f"{target} was extracted from a different archive than {archive}; "
                      "re-extracting", stacklevel=3)
        old = target.with_name(f".{stem}.old-{os.getpid()}")
        os.replace(target, old)
        shutil.rmtree(old, ignore_errors=True)
    extract_archive(archive, target)
    marker.write_text(stamp)
    return target


# ---------------------------------------------------------------------------------------------
# Resolution


def _looks_like_path(name: str) -> bool:
    return os.sep in name or "/" in name or name.startswith(".") or name.startswith("~") \
        or _archive_stem(name) is not None


def resolve_dataset(name_or_path: str | Path, data_dir: Path | str | None = None,
                    download: bool = True) -> Path:
    """A dataset name (see ``REGISTRY``) or a folder / archive path -> a local folder.

    See the module docstring for the resolution order. Raises ``ValueError`` for an unknown name,
    a missing path or a bad archive, and ``OSError`` naming the URL and the ways to supply the
    file when a needed download fails (or ``download=False``).
    """
    data_dir = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    name = str(name_or_path)
    if isinstance(name_or_path, Path) or name not in REGISTRY:
        path = Path(name).expanduser()
        if path.is_dir():
            return path
        if path.is_file():
            return _extract_cached(path, data_dir)
        if isinstance(name_or_path, Path) or _looks_like_path(name):
            raise ValueError(f"dataset path not found: {name!r}")
        raise ValueError(f"unknown dataset {name!r}: give a folder or archive path, or one of "
                         f"{sorted(REGISTRY)}")
    spec = REGISTRY[name]
    if (data_dir / spec.name).is_dir():
        return data_dir / spec.name
    for archive in (data_dir / "archives" / spec.filename, data_dir / spec.filename):
        if archive.is_file():
            if (got := sha256_file(archive)) != spec.sha256:
                raise ValueError(f"{str(archive)!r} has sha256 {got}, expected {spec.sha256} for "
                                 f"{spec.name!r}; delete it or replace it with {spec.url}")
            return _extract_cached(archive, data_dir, spec.name)
    how = (f"download {spec.url} yourself and pass it with --data PATH (the archive or its "
           f"extracted folder), or put {spec.filename} into {data_dir} (set ${DATA_ENV} to choose "
           "that folder)")
    if not download:
        raise OSError(f"dataset {spec.name!r} is not in {data_dir}; {how}")
    try:
        archive = download_file(spec.url, data_dir / "archives" / spec.filename, spec.sha256)
    except OSError as e:
        raise OSError(f"{e}. To work offline, {how}") from e
    return _extract_cached(archive, data_dir, spec.name)
