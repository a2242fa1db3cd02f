"""Checksummed, resumable downloads built on the standard library.

The public datasets this project evaluates on are large archives served by plain HTTP(S) hosts
that are slow, sometimes drop connections, and are unreachable from offline machines. This module
fetches them so that a wrong or partial file can never be mistaken for a good one:

* bytes go to ``<file>.part``; an interrupted ``.part`` is resumed with an HTTP ``Range`` request
  (a server that ignores ``Range`` simply sends the whole file again, which is detected);
* dropped connections and timeouts are retried with exponential backoff, mirror by mirror;
* the finished ``.part`` is checked (size, then MD5/SHA-256) *before* it is renamed into place;
  a file that fails is moved aside to ``<file>.corrupt`` and the error says so;
* archives (zip, tar, tar.gz) are extracted with every member path checked (no absolute paths, no
  ``..``, no links or devices pointing outside the target folder), and a marker file is written
  only after the whole archive was extracted;
* when no host can be reached, :class:`DownloadUnavailableError` names the URL to fetch by hand
  and the exact path to save it at; the next :func:`fetch` verifies and uses that file.

Checksum policy. Entries of the registry carry a published checksum where one exists. Where none
is published anywhere, the entry has ``checksum=None`` and is handled "trust on first use": the
SHA-256 of the first file that downloads completely is printed and recorded in a lock file
(:data:`LOCK_NAME`, next to the data); every later run, on any copy of that file, must match it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import stat
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from tqdm.auto import tqdm

LOCK_NAME = "samrefiner-checksums.lock.json"
"""File name of the trust-on-first-use / verification lock written in each data root."""

ARCHIVE_TYPES = ("zip", "tar", "tar.gz")
CHUNK_SIZE = 1 << 20
USER_AGENT = "samrefiner-lib-downloader/1.0 (+python urllib)"
_ALGORITHMS = {"md5": 32, "sha256": 64}


class DownloadError(RuntimeError):
    """A file could not be downloaded, verified or extracted; the message says which and why."""


class ChecksumError(DownloadError):
    """A file's size or digest does not match what was expected; the file was moved aside."""


class DownloadUnavailableError(DownloadError):
    """No URL of a file could be reached (offline machine, DNS failure, refused connection).

    Attributes:
      urls: the URLs that were tried, best first.
      path: where the file must be saved by hand for the next :func:`fetch` to use it.
    """

    def __init__(self, message: str, urls: Sequence[str], path: Path) -> None:
        super().__init__(message)
        self.urls = tuple(urls)
        self.path = Path(path)


class ManualDownloadRequired(DownloadUnavailableError):
    """The file is only offered through a web page (e.g. a shared Google Drive folder)."""


class UnsafeArchiveError(DownloadError):
    """An archive member would be written outside the extraction folder, or is a device file."""


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file of the registry.

    Arguments:
      name: registry key, e.g. ``"voc2012_trainval"``.
      urls: download URLs, tried in order (mirrors); for a manual entry, the web page to visit.
      filename: name of the downloaded file inside the data root.
      checksum: ``"md5:<hex>"`` or ``"sha256:<hex>"`` when a checksum is published, else None
        (trust on first use: the first download's SHA-256 is recorded in the lock file).
      checksum_source: where the published checksum was found, or why there is none.
      size: exact size in bytes when known (checked before hashing), else None.
      approx_size: human-readable size for documentation, e.g. ``"778 MB"``.
      archive: ``"zip"``, ``"tar"``, ``"tar.gz"`` or None for a plain file.
      extract_to: folder (relative to the data root) to extract the archive into; ``"."`` for
        the root itself.
      manual: True when the URL is a web page that cannot be fetched by a program; :func:`fetch`
        then explains what to download and where to put it.
      description: one line on what the file holds.
      license: licence or terms of use, as stated by the source.
    """

    name: str
    urls: tuple[str, ...]
    filename: str
    checksum: str | None = None
    checksum_source: str = ""
    size: int | None = None
    approx_size: str = ""
    archive: str | None = None
    extract_to: str | None = None
    manual: bool = False
    description: str = ""
    license: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.urls, str):
            object.__setattr__(self, "urls", (self.urls,))
        if not self.urls:
            raise ValueError(f"registry entry {self.name!r}: at least one URL is required")
        if self.checksum is not None:
            parse_checksum(self.checksum, where=f"registry entry {self.name!r}")
        if self.archive is not None and self.archive not in ARCHIVE_TYPES:
            raise ValueError(
                f"registry entry {self.name!r}: archive must be one of {ARCHIVE_TYPES}, "
                f"got {self.archive!r}"
            )
        if PurePosixPath(self.filename).name != self.filename:
            raise ValueError(f"registry entry {self.name!r}: filename must be a bare file name")

    @property
    def trust_on_first_use(self) -> bool:
        """True when no checksum is published and the lock file's recorded hash is used."""
        return self.checksum is None


def parse_checksum(checksum: str, where: str = "checksum") -> tuple[str, str]:
    """Split ``"algo:hex"`` into (algo, lower-case hex), validating both parts.

    Arguments:
      checksum: e.g. ``"md5:6cd6e144f989b92b3379bac3b3de84fd"``.
      where: how error messages refer to the value.

    Returns:
      tuple[str, str]: (``"md5"`` or ``"sha256"``, hex digest).
    """
    algo, sep, digest = checksum.partition(":")
    algo = algo.lower()
    digest = digest.lower()
    if not sep or algo not in _ALGORITHMS:
        raise ValueError(f"{where}: checksum must look like 'md5:<hex>' or 'sha256:<hex>'")
    if len(digest) != _ALGORITHMS[algo] or not re.fullmatch(r"[0-9a-f]+", digest):
        raise ValueError(f"{where}: {algo} digest must be {_ALGORITHMS[algo]} hex characters")
    return algo, digest


def file_digests(path: str | os.PathLike, algorithms: Iterable[str] = ("sha256", "md5")) -> dict:
    """Hash a file once, computing several digests in the same pass.

    Arguments:
      path: file to hash.
      algorithms: hashlib names.

    Returns:
      dict[str, str]: algorithm -> lower-case hex digest.
    """
    hashers = {a: hashlib.new(a) for a in algorithms}
    with open(path, "rb") as fh:
        while True:
            block = fh.read(CHUNK_SIZE)
            if not block:
                break
            for h in hashers.values():
                h.update(block)
    return {a: h.hexdigest() for a, h in hashers.items()}


def _say(message: str) -> None:
    # tqdm.write keeps messages from tearing an active progress bar.
    tqdm.write(message, file=sys.stderr)


# --------------------------------------------------------------------------- lock file


class ChecksumLock:
    """The JSON lock file that records trusted and verified hashes in one data root.

    Entries are keyed by file name. Each holds the file's ``sha256``, ``size``, the ``policy``
    (``"published"`` or ``"trust-on-first-use"``), the ``source`` URL or ``"placed by hand"``,
    and the ``mtime_ns`` at verification, which lets a later run skip re-hashing an unchanged
    multi-gigabyte archive.

    Arguments:
      root: data root; the lock is ``root / LOCK_NAME``.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.path = Path(root) / LOCK_NAME
        self._files: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._files = dict(data["files"])
            except (ValueError, KeyError, TypeError) as exc:
                raise DownloadError(
                    f"checksum lock file {self.path} is unreadable ({exc}); fix or delete it "
                    "(deleting it forgets the trust-on-first-use hashes recorded there)"
                ) from exc

    def get(self, filename: str) -> dict[str, Any] | None:
        """The recorded entry for a file name, or None."""
        entry = self._files.get(filename)
        return dict(entry) if entry is not None else None

    def record(self, filename: str, **entry: Any) -> None:
        """Store (replace) the entry of one file and rewrite the lock atomically."""
        entry.setdefault("recorded", datetime.now(UTC).isoformat(timespec="seconds"))
        self._files[filename] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        payload = {
            "about": (
                "SHA-256 of downloaded data files. 'trust-on-first-use' entries have no "
                "published checksum: the first complete download was trusted and later files "
                "must match it. Delete an entry only if you know the upstream file changed."
            ),
            "files": self._files,
        }
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


# --------------------------------------------------------------------------- verification


def _quarantine(path: Path, final: Path | None = None) -> Path:
    """Move a bad file aside as ``<final name>.corrupt`` so it is never used; return that path."""
    final = final or path
    dest = final.with_name(final.name + ".corrupt")
    if dest.exists():
        dest.unlink()
    os.replace(path, dest)
    return dest


def verify_file(
    path: str | os.PathLike,
    spec: RemoteFile,
    lock: ChecksumLock | None = None,
    source: str = "",
) -> str:
    """Check one file against its registry entry; raise without touching the file on mismatch.

    Order: exact size (when known), then the published checksum, or, for trust-on-first-use
    entries, the SHA-256 recorded in the lock. A trust-on-first-use file with no recorded hash is
    accepted and its hash recorded and printed.

    Arguments:
      path: file to check (a finished ``.part`` or a file placed by hand).
      spec: its registry entry.
      lock: lock of the data root; required for trust-on-first-use entries.
      source: where the bytes came from (URL, or ``"placed by hand"``), stored in the lock.

    Returns:
      str: the file's SHA-256.
    """
    path = Path(path)
    size = path.stat().st_size
    if spec.size is not None and size != spec.size:
        raise ChecksumError(
            f"{spec.filename}: size is {size} bytes, expected {spec.size} bytes (incomplete or "
            "wrong file)"
        )
    digests = file_digests(path)
    sha = digests["sha256"]
    if spec.checksum is not None:
        algo, expected = parse_checksum(spec.checksum, where=spec.name)
        if digests[algo] != expected:
            raise ChecksumError(
                f"{spec.filename}: {algo} is {digests[algo]}, expected {expected} "
                f"(published, {spec.checksum_source or 'see the registry'})"
            )
        policy = "published"
    else:
        if lock is None:
            raise DownloadError(f"{spec.name}: trust-on-first-use entries need a ChecksumLock")
        entry = lock.get(spec.filename)
        if entry is not None and entry.get("policy") == "trust-on-first-use":
            if entry.get("sha256") != sha:
                raise ChecksumError(
                    f"{spec.filename}: sha256 is {sha}, but {lock.path} recorded "
                    f"{entry.get('sha256')} when the file was first downloaded (trust on first "
                    "use). The upstream file changed or this copy is damaged; if you trust the "
                    "new file, delete its entry from the lock file and run again"
                )
        else:
            _say(
                f"[trust on first use] {spec.filename}: no published checksum; recording "
                f"sha256 {sha} in {lock.path}"
            )
        policy = "trust-on-first-use"
    if lock is not None:
        previous = lock.get(spec.filename) or {}
        lock.record(
            spec.filename,
            sha256=sha,
            size=size,
            policy=policy,
            source=source or previous.get("source", ""),
            mtime_ns=path.stat().st_mtime_ns,
            recorded=previous.get("recorded")
            or datetime.now(UTC).isoformat(timespec="seconds"),
        )
    return sha


def _already_verified(path: Path, spec: RemoteFile, lock: ChecksumLock) -> str | None:
    """Return the recorded SHA-256 when the file is unchanged since it was last verified."""
    entry = lock.get(spec.filename)
    if not entry or "mtime_ns" not in entry:
        return None
    st = path.stat()
    if entry.get("size") != st.st_size or entry.get("mtime_ns") != st.st_mtime_ns:
        return None
    if spec.checksum is not None and entry.get("policy") != "published":
        return None
    return str(entry["sha256"])


# --------------------------------------------------------------------------- transfer


class _TransientError(Exception):
    """A failure worth retrying (dropped connection, timeout, 5xx)."""


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if reason is not None:
        exc = reason if isinstance(reason, BaseException) else exc
    if isinstance(exc, socket.gaierror):
        return f"DNS lookup failed ({exc})"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused ({exc})"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"timed out ({exc})"
    return f"{type(exc).__name__}: {exc}"


def _transfer(
    url: str,
    part: Path,
    *,
    timeout: float,
    progress: bool,
    desc: str,
    expected_size: int | None,
) -> bool:
    """Make one HTTP request and append to / rewrite ``part``.

    Returns True when the request resumed existing bytes with a Range request. Raises
    :class:`_TransientError` when the body was cut short.
    """
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset == expected_size:
        return False  # a complete .part from an earlier run: nothing left to fetch
    if expected_size is not None and offset > expected_size:
        part.unlink()
        offset = 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            # "Range not satisfiable": the .part is already whole, or stale and too long.
            whole = re.fullmatch(r"bytes \*/(\d+)", exc.headers.get("Content-Range", "") or "")
            if whole and int(whole.group(1)) == offset:
                return False
            part.unlink()
            raise _TransientError("server refused the resume range; restarting") from exc
        raise
    with response:
        status = response.status
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        resumed = False
        if offset and status == 206:
            content_range = response.headers.get("Content-Range", "")
            match = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", content_range)
            if not match or int(match.group(1)) != offset:
                part.unlink()
                raise _TransientError("server answered the Range request with another range")
            mode, resumed = "ab", True
        else:
            # 200 (Range ignored or not sent): the body is the whole file, from byte 0.
            mode, offset = "wb", 0
        total = offset + length if length is not None else expected_size
        with (
            open(part, mode) as fh,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=desc,
                disable=not progress,
                mininterval=0.5,
                leave=False,
            ) as bar,
        ):
            try:
                while True:
                    block = response.read(CHUNK_SIZE)
                    if not block:
                        break
                    fh.write(block)
                    bar.update(len(block))
            except (http.client.HTTPException, OSError) as exc:
                raise _TransientError(f"connection dropped: {_describe(exc)}") from exc
    got = part.stat().st_size
    if total is not None and got < total:
        # http.client returns b"" when a peer closes early; the length check is what notices.
        raise _TransientError(f"connection closed after {got} of {total} bytes")
    return resumed


def _is_retryable_http(code: int) -> bool:
    return code in (408, 425, 429) or 500 <= code < 600


def download_file(
    urls: str | Sequence[str],
    dest: str | os.PathLike,
    *,
    expected_size: int | None = None,
    verify: Callable[[Path, str], None] | None = None,
    progress: bool = True,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 60.0,
    checksum_hint: str = "",
) -> Path:
    """Download one URL (trying mirrors in order) to ``dest`` via a resumable ``dest.part``.

    ``verify(part, url)`` runs on the finished ``.part`` before it is renamed; if it raises
    :class:`ChecksumError`, a download that had resumed earlier bytes is retried once from
    scratch (the old ``.part`` may have come from another version of the file); a second failure
    moves the bytes aside to ``dest.corrupt`` and re-raises.

    Arguments:
      urls: one URL or several mirrors.
      dest: final path.
      expected_size: exact size when known; lets a complete ``.part`` be used without a request.
      verify: callable given the finished file and the URL it came from; raise ChecksumError
        to reject it.
      progress: show a tqdm bar with rate and ETA.
      retries: extra attempts per URL after a dropped connection, timeout or 5xx answer.
      backoff: seconds before the first retry; doubles each time.
      timeout: socket timeout in seconds.
      checksum_hint: how the file will be verified, for the manual-download message.

    Returns:
      Path: ``dest``.
    """
    url_list = [urls] if isinstance(urls, str) else list(urls)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failures: list[str] = []
    restarted = False
    while True:
        used_url, resumed_any = _download_part(
            url_list,
            part,
            failures,
            expected_size,
            progress,
            retries,
            backoff,
            timeout,
            dest.name,
        )
        if used_url is None:
            hint = f" It will be checked against {checksum_hint}." if checksum_hint else ""
            tried = "\n".join(f"  - {line}" for line in failures)
            if part.exists() and part.stat().st_size > 0:
                why = (
                    f"The transfer kept failing; the {part.stat().st_size} bytes received are "
                    f"kept in {part} and the next run resumes from there."
                )
            else:
                why = "This machine may be offline (no server could be reached)."
            raise DownloadUnavailableError(
                f"could not download {dest.name}; tried:\n{tried}\n{why}\n"
                f"To fetch it by hand, download\n  {url_list[0]}\n"
                f"and save it as\n  {dest}\nthen run the same command again.{hint}",
                url_list,
                dest,
            )
        if verify is not None:
            try:
                verify(part, used_url)
            except ChecksumError as exc:
                if resumed_any and not restarted:
                    _say(f"{dest.name}: resumed download failed verification; downloading again")
                    part.unlink()
                    restarted = True
                    continue
                moved = _quarantine(part, dest)
                raise ChecksumError(
                    f"{exc}\nThe downloaded bytes (from {used_url}) were moved to {moved} and "
                    f"NOT installed as {dest}."
                ) from exc
        os.replace(part, dest)
        return dest


def _download_part(
    urls: list[str],
    part: Path,
    failures: list[str],
    expected_size: int | None,
    progress: bool,
    retries: int,
    backoff: float,
    timeout: float,
    desc: str,
) -> tuple[str | None, bool]:
    """Fill ``part`` from the first URL that works; return (url or None, whether it resumed)."""
    resumed_any = part.exists() and part.stat().st_size > 0
    for url in urls:
        for attempt in range(retries + 1):
            try:
                resumed = _transfer(
                    url,
                    part,
                    timeout=timeout,
                    progress=progress,
                    desc=desc,
                    expected_size=expected_size,
                )
                return url, resumed_any or resumed
            except urllib.error.HTTPError as exc:
                failures.append(f"{url}: {_describe(exc)}")
                if not _is_retryable_http(exc.code):
                    break
            except urllib.error.URLError as exc:
                failures.append(f"{url}: {_describe(exc)}")
            except ValueError as exc:  # malformed URL: retrying cannot help
                failures.append(f"{url}: {exc}")
                break
            except (_TransientError, http.client.HTTPException, OSError) as exc:
                why = str(exc) if isinstance(exc, _TransientError) else _describe(exc)
                failures.append(f"{url}: {why}")
            if part.exists() and part.stat().st_size > 0:
                resumed_any = True
            if attempt < retries:
                delay = backoff * (2**attempt)
                _say(f"{desc}: {failures[-1]}; retrying in {delay:.1f} s")
                time.sleep(delay)
    return None, resumed_any


# --------------------------------------------------------------------------- extraction


def _member_target(dest: Path, name: str, archive: Path) -> Path:
    """Resolve an archive member name under ``dest``, refusing anything that escapes it."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path; refusing")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} climbs out with '..'; refusing")
    target = dest.joinpath(*parts) if parts else dest
    root = dest.resolve()
    resolved = target.resolve()
    if resolved != root and root not in resolved.parents:
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} would be written outside {dest}; refusing"
        )
    return target


def _extract_zip(archive: Path, dest: Path, progress: bool) -> int:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        targets = []
        for info in infos:  # validate everything first: the central directory is cheap to read
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchiveError(
                    f"{archive}: member {info.filename!r} is a symbolic link; refusing"
                )
            targets.append(_member_target(dest, info.filename, archive))
        for info, target in tqdm(
            list(zip(infos, targets, strict=True)),
            desc=f"extract {archive.name}",
            unit="file",
            disable=not progress,
            leave=False,
        ):
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK_SIZE)
        return len(infos)


def _extract_tar(archive: Path, dest: Path, progress: bool) -> int:
    count = 0
    # Stream member by member ("r|*"): a multi-GB tar.gz is read once, and each member is vetted
    # before anything of it is written.
    with tarfile.open(archive, "r|*") as tf:
        for member in tqdm(
            tf, desc=f"extract {archive.name}", unit="file", disable=not progress, leave=False
        ):
            target = _member_target(dest, member.name, archive)
            if member.isdev() or member.isfifo():
                raise UnsafeArchiveError(
                    f"{archive}: member {member.name!r} is a device or FIFO; refusing"
                )
            if member.issym():
                link = _member_target(dest, str(PurePosixPath(member.name).parent), archive)
                _member_target(dest, os.path.relpath(link / member.linkname, dest), archive)
            elif member.islnk():
                _member_target(dest, member.linkname, archive)
            target.parent.mkdir(parents=True, exist_ok=True)
            if hasattr(tarfile, "data_filter"):
                tf.extract(member, dest, filter="data")
            else:  # pragma: no cover - Python without extraction filters
                tf.extract(member, dest)
            count += 1
    return count


def extract_zip_members(
    archive: str | os.PathLike,
    dest: str | os.PathLike,
    names: Iterable[str],
    progress: bool = True,
) -> int:
    """Extract only some members of a zip (e.g. 5,000 images out of COCO train2017).

    Member paths are checked like in :func:`extract_archive`. Each file is written to a
    temporary name and renamed, so an interrupted run never leaves a truncated image; members
    already present with the right size are skipped. No completion marker is written (the
    archive is deliberately not fully extracted).

    Arguments:
      archive: zip file.
      dest: folder to extract into.
      names: member names to extract.
      progress: show a progress bar.

    Returns:
      int: number of members written or already present.
    """
    archive = Path(archive)
    dest = Path(dest)
    wanted = set(names)
    done = 0
    with zipfile.ZipFile(archive) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        missing = sorted(wanted - set(infos))
        if missing:
            raise DownloadError(
                f"{archive}: {len(missing)} requested member(s) are not in the archive, "
                f"e.g. {missing[:3]}"
            )
        for name in tqdm(
            sorted(wanted), desc=f"extract from {archive.name}", unit="file", disable=not progress
        ):
            info = infos[name]
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UnsafeArchiveError(f"{archive}: member {name!r} is a symbolic link; refusing")
            target = _member_target(dest, name, archive)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if not (target.is_file() and target.stat().st_size == info.file_size):
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(target.name + ".part")
                with zf.open(info) as src, open(tmp, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK_SIZE)
                os.replace(tmp, target)
            done += 1
    return done


def guess_archive_type(path: str | os.PathLike) -> str | None:
    """Archive type from a file name: ``"zip"``, ``"tar"``, ``"tar.gz"`` or None."""
    name = Path(path).name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    if name.endswith(".tar"):
        return "tar"
    return None


def extraction_marker(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Path of the marker that says ``archive`` was completely extracted into ``dest``."""
    return Path(dest) / f".{Path(archive).name}.extracted"


def extract_archive(
    archive: str | os.PathLike,
    dest: str | os.PathLike,
    kind: str | None = None,
    *,
    sha256: str | None = None,
    progress: bool = True,
) -> Path:
    """Safely extract a zip / tar / tar.gz archive, writing a marker only when it completes.

    If the marker exists and names the same archive digest, nothing is done. An extraction that
    was interrupted leaves no marker, so the next call extracts again (overwriting).

    Arguments:
      archive: the archive file.
      dest: folder to extract into (created).
      kind: ``"zip"``, ``"tar"`` or ``"tar.gz"``; guessed from the name when None.
      sha256: digest of the archive, stored in the marker (computed when None).
      progress: show a per-member progress bar.

    Returns:
      Path: ``dest``.
    """
    archive = Path(archive)
    dest = Path(dest)
    kind = kind or guess_archive_type(archive)
    if kind not in ARCHIVE_TYPES:
        raise DownloadError(f"{archive}: cannot tell the archive type (expected zip, tar, tar.gz)")
    sha256 = sha256 or file_digests(archive, ("sha256",))["sha256"]
    marker = extraction_marker(archive, dest)
    if marker.exists():
        try:
            if json.loads(marker.read_text(encoding="utf-8")).get("sha256") == sha256:
                return dest
        except ValueError:
            pass
        marker.unlink()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "zip":
            count = _extract_zip(archive, dest, progress)
        else:
            count = _extract_tar(archive, dest, progress)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise DownloadError(f"{archive}: archive is damaged or not a {kind} file ({exc})") from exc
    marker.write_text(
        json.dumps({"archive": archive.name, "sha256": sha256, "members": count}) + "\n",
        encoding="utf-8",
    )
    return dest


# --------------------------------------------------------------------------- fetch


def _checksum_hint(spec: RemoteFile, lock: ChecksumLock) -> str:
    if spec.checksum is not None:
        return f"the published {spec.checksum}"
    entry = lock.get(spec.filename)
    if entry and entry.get("policy") == "trust-on-first-use":
        return f"the sha256 recorded in {lock.path} ({entry['sha256']})"
    return (
        "its own SHA-256, recorded on this first use because no checksum is published (trust "
        "on first use)"
    )


def resolve_spec(
    name: str | RemoteFile, registry: dict[str, RemoteFile] | None = None
) -> RemoteFile:
    """Look a registry entry up by name (entries pass through unchanged)."""
    if isinstance(name, RemoteFile):
        return name
    if registry is None:
        from .registry import REGISTRY

        registry = REGISTRY
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise KeyError(f"unknown dataset file {name!r}; known: {known}") from None


def fetch(
    name: str | RemoteFile,
    root: str | os.PathLike,
    *,
    extract: bool = True,
    progress: bool = True,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 60.0,
    registry: dict[str, RemoteFile] | None = None,
) -> Path:
    """Make sure one registry file is present and verified in ``root`` (and extracted).

    Steps: use ``root/<filename>`` if it is there and verifies (a file placed by hand counts); a
    file that fails verification is moved to ``<filename>.corrupt`` and downloaded again.
    Otherwise download (resuming ``<filename>.part``), verify, rename into place, then extract
    archives into ``root/<extract_to>``.

    Arguments:
      name: registry key or a :class:`RemoteFile`.
      root: data root folder (created); the lock file lives here.
      extract: extract archives (ignored for plain files).
      progress: show progress bars.
      retries: retries per URL after transient failures.
      backoff: first retry delay in seconds (doubles).
      timeout: socket timeout in seconds.
      registry: registry to look ``name`` up in (default: :data:`registry.REGISTRY`).

    Returns:
      Path: the extraction folder for archives (when ``extract``), else the file.
    """
    spec = resolve_spec(name, registry)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lock = ChecksumLock(root)
    target = root / spec.filename
    sha: str | None = None
    note = ""
    if target.exists():
        sha = _already_verified(target, spec, lock)
        if sha is None:
            try:
                source = (lock.get(spec.filename) or {}).get("source") or "placed by hand"
                sha = verify_file(target, spec, lock, source=source)
            except ChecksumError as exc:
                moved = _quarantine(target)
                note = f"{exc}\nThe existing file was moved to {moved}."
                _say(note + " Downloading it again.")
    if sha is None:
        if spec.manual:
            extra = f"\n(Previous attempt: {note})" if note else ""
            size = f" (about {spec.approx_size})" if spec.approx_size[:1].isdigit() else ""
            raise ManualDownloadRequired(
                f"{spec.name} cannot be downloaded automatically: it is only offered through a "
                f"web page.\n  1. Open {spec.urls[0]}\n"
                f"  2. Download the data{size}: {spec.description}\n"
                f"  3. Save the archive (renamed if needed) as\n       {target}\n"
                f"  4. Run the same command again; the file will be checked against "
                f"{_checksum_hint(spec, lock)}.{extra}",
                spec.urls,
                target,
            )

        def _verify(part: Path, url: str) -> None:
            nonlocal sha
            sha = verify_file(part, spec, lock, source=url)

        try:
            download_file(
                spec.urls,
                target,
                expected_size=spec.size,
                verify=_verify,
                progress=progress,
                retries=retries,
                backoff=backoff,
                timeout=timeout,
                checksum_hint=_checksum_hint(spec, lock),
            )
        except DownloadUnavailableError as exc:
            if note:
                raise DownloadUnavailableError(
                    f"{exc}\n(Before that: {note})", exc.urls, exc.path
                ) from exc
            raise
        # The rename changed the mtime recorded during verification: refresh the stamp.
        entry = lock.get(spec.filename) or {}
        entry["mtime_ns"] = target.stat().st_mtime_ns
        lock.record(spec.filename, **entry)
    if spec.archive is not None and extract:
        dest = root / (spec.extract_to or ".")
        return extract_archive(target, dest, spec.archive, sha256=sha, progress=progress)
    return target
