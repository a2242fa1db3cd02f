"""Checksummed, resumable dataset downloads on top of pooch.

The public datasets this project evaluates on are large archives served by plain HTTP(S) hosts
that are slow, sometimes drop connections, and are unreachable from offline machines. pooch does
the generic work: the HTTP transfer (through ``requests``) with a progress bar, the check of the
known hash on a temporary file *before* it is renamed into place (so a wrong or partial file is
never installed), and the extraction of zip and tar archives (:class:`pooch.Unzip`,
:class:`pooch.Untar`). This module adds what is specific to this project:

* the registry (:mod:`.registry`): mirrors, published checksums and where they come from;
* resuming: :class:`ResumingDownloader`, a pooch downloader, keeps the bytes received so far in
  ``<file>.part`` across runs and continues with an HTTP ``Range`` request (pooch itself starts
  again from byte 0, which is hours for an 18 GB archive on a flaky host); retries with
  exponential backoff, mirror by mirror;
* the checksum lock file (:data:`LOCK_NAME`) for files without a published checksum ("trust on
  first use": the SHA-256 of the first complete download is printed and recorded, and every
  later copy of the file must match it), which also remembers size and modification time so an
  unchanged multi-gigabyte archive is not re-hashed on every run;
* files fetched by hand: when no host can be reached, :class:`DownloadUnavailableError` names the
  URL and the exact path to save the file at; the next :func:`fetch` verifies and uses it (one
  that fails is moved aside to ``<file>.corrupt``, never deleted);
* archive member checks before extraction (no absolute paths, no ``..``, no links or devices
  pointing outside the target folder): pooch's ``Untar`` applies tarfile's ``data`` filter only
  on Python 3.12 and later, and ``Unzip`` silently rewrites such names instead of refusing the
  archive; plus a marker file written only after a complete extraction.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pooch
import requests
from tqdm.auto import tqdm

# RemoteFile and parse_checksum stay importable from here, where they used to live.
from .registry import ARCHIVE_TYPES, REGISTRY, RemoteFile, parse_checksum

LOCK_NAME = "samrefiner-checksums.lock.json"
"""File name of the trust-on-first-use / verification lock written in each data root."""

CHUNK_SIZE = 1 << 20
"""Bytes per read when hashing and extracting."""
TRANSFER_CHUNK = 1 << 16
"""Bytes per write while downloading: a dropped connection loses at most one unfinished chunk
(requests hands over a chunk only when it is complete), so smaller means more to resume from."""
USER_AGENT = f"samrefiner-lib-downloader/2.0 (pooch {pooch.__version__})"


class DownloadError(RuntimeError):
    """A file could not be downloaded, verified or extracted; the message says which and why."""


class ChecksumError(DownloadError):
    """A file's size or digest does not match what was expected; it was not installed."""


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


def file_digests(path: str | os.PathLike, algorithms: Iterable[str] = ("sha256", "md5")) -> dict:
    """Hash a file once, computing several digests in the same pass.

    pooch's ``file_hash`` reads the file once per algorithm; the lock needs the SHA-256 and a
    published checksum is often an MD5, and reading a 2 GB archive twice is noticeable.

    Arguments:
      path: file to hash.
      algorithms: hashlib names.

    Returns:
      dict[str, str]: algorithm -> lower-case hex digest.
    """
    hashers = {a: hashlib.new(a) for a in algorithms}
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK_SIZE):
            for h in hashers.values():
                h.update(block)
    return {a: h.hexdigest() for a, h in hashers.items()}


def _say(message: str) -> None:
    # tqdm.write keeps messages from tearing an active progress bar.
    tqdm.write(message, file=sys.stderr)


_quiet_lock = threading.Lock()
_quiet_depth = 0
_pooch_level = logging.NOTSET


@contextlib.contextmanager
def _pooch_log(enabled: bool) -> Iterator[None]:
    """Show pooch's one-line "Downloading ..." / "Unzipping ..." messages only when wanted.

    pooch logs each transfer at INFO level; 5,000 per-image downloads would print 5,000 lines.
    Counted, because threads download in parallel and share pooch's one logger.
    """
    global _quiet_depth, _pooch_level
    if enabled:
        yield
        return
    logger = pooch.get_logger()
    with _quiet_lock:
        if _quiet_depth == 0:
            _pooch_level = logger.level
            logger.setLevel(logging.WARNING)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                logger.setLevel(_pooch_level)


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

    def recorded_tofu_hash(self, filename: str) -> str | None:
        """The trust-on-first-use SHA-256 recorded for a file, as a pooch known hash."""
        entry = self.get(filename)
        if entry is not None and entry.get("policy") == "trust-on-first-use":
            return f"sha256:{entry['sha256']}"
        return None


# --------------------------------------------------------------------------- verification


def _quarantine(path: Path) -> Path:
    """Move a bad file aside as ``<name>.corrupt`` so it is never used; return that path."""
    dest = path.with_name(path.name + ".corrupt")
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
    """Check one file against its registry entry and record it in the lock.

    Order: exact size (when known), then the published checksum, or, for trust-on-first-use
    entries, the SHA-256 recorded in the lock. A trust-on-first-use file with no recorded hash is
    accepted and its hash recorded and printed. Raises without touching the file on mismatch.

    Arguments:
      path: file to check (one placed by hand, or one pooch has just installed).
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
        recorded = lock.recorded_tofu_hash(spec.filename)
        if recorded is not None:
            if recorded != f"sha256:{sha}":
                raise ChecksumError(_tofu_mismatch(spec, lock, f"sha256 is {sha}"))
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


def _tofu_mismatch(spec: RemoteFile, lock: ChecksumLock, found: str) -> str:
    entry = lock.get(spec.filename) or {}
    return (
        f"{spec.filename}: {found}, but {lock.path} recorded {entry.get('sha256')} when the file "
        "was first downloaded (trust on first use). The upstream file changed or this copy is "
        "damaged; if you trust the new file, delete its entry from the lock file and run again"
    )


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


class ResumingDownloader:
    """A pooch downloader that keeps partial bytes in ``<file>.part`` and resumes them.

    pooch calls it with a temporary file next to the destination; the transfer itself is
    :class:`pooch.HTTPDownloader` (requests, progress bar), pointed at ``part`` opened for
    appending and given a ``Range`` header when ``part`` already holds bytes. A response hook
    looks at the answer before the body is read: ``206`` from the right offset appends, ``200``
    (the server ignores ``Range``) truncates ``part`` first, and ``416`` with the full length
    means ``part`` is already whole. Only a complete ``part`` that passes the size check and
    ``verify`` is moved into pooch's temporary file, whose known hash pooch then checks before
    the final rename.

    Arguments:
      part: the file that collects bytes across attempts and runs.
      progress: show pooch's progress bar.
      timeout: requests timeout in seconds (connect and between bytes).
      expected_size: exact size when known: a ``part`` of that size needs no request, a larger
        one is discarded, a finished file of another size is refused.
      verify: extra check of the finished ``part`` (e.g. "decodes as an image of W x H");
        called with (path, url), raises :class:`ChecksumError` to refuse it.
    """

    def __init__(
        self,
        part: Path,
        *,
        progress: bool = False,
        timeout: float = 60.0,
        expected_size: int | None = None,
        verify: Callable[[Path, str], None] | None = None,
    ) -> None:
        self.part = Path(part)
        self.progress = progress
        self.timeout = timeout
        self.expected_size = expected_size
        self.verify = verify

    def _headers(self, offset: int) -> dict[str, str]:
        # identity: requests would otherwise undo a gzip transfer encoding of a .tar.gz.
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        return headers

    def _transfer(self, url: str, pooch_instance: pooch.Pooch | None) -> None:
        """Fill ``part`` from ``url``; raise a requests exception when it stays incomplete."""
        offset = self.part.stat().st_size if self.part.exists() else 0
        if self.expected_size is not None:
            if offset == self.expected_size:
                return  # a complete .part from an earlier run: nothing left to fetch
            if offset > self.expected_size:
                self.part.unlink()
                offset = 0
        expected_total: list[int | None] = [None]
        with open(self.part, "ab") as fh:

            def on_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
                if response.is_redirect or response.status_code not in (200, 206):
                    return
                length = response.headers.get("Content-Length", "")
                start = 0
                if response.status_code == 206:
                    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
                    if not match or int(match.group(1)) != offset:
                        fh.truncate(0)
                        raise requests.exceptions.ConnectionError(
                            "server answered the Range request with another range; restarting"
                        )
                    start = offset
                else:
                    fh.truncate(0)  # Range ignored or not sent: the body is the whole file
                expected_total[0] = start + int(length) if length.isdigit() else None

            downloader = pooch.HTTPDownloader(
                progressbar=self.progress,
                chunk_size=TRANSFER_CHUNK,
                timeout=self.timeout,
                headers=self._headers(offset),
                hooks={"response": on_response},
            )
            try:
                downloader(url, fh, pooch_instance)
            except requests.exceptions.HTTPError as exc:
                answer = exc.response
                if answer is None or answer.status_code != 416 or not offset:
                    raise
                # "Range not satisfiable": the .part is already whole, or stale and too long.
                content_range = answer.headers.get("Content-Range", "")
                whole = re.fullmatch(r"bytes \*/(\d+)", content_range)
                if not whole or int(whole.group(1)) != offset:
                    fh.truncate(0)
                    raise requests.exceptions.ConnectionError(
                        "server refused the resume range; restarting"
                    ) from exc
        got = self.part.stat().st_size
        total = expected_total[0]
        if total is not None and got < total:
            # urllib3 normally notices a short body itself; this is the belt to its braces.
            raise requests.exceptions.ConnectionError(
                f"connection closed after {got} of {total} bytes"
            )

    def __call__(
        self,
        url: str,
        output_file: str,
        pooch_instance: pooch.Pooch | None,
        check_only: bool = False,
    ) -> bool | None:
        """Download ``url`` into ``part`` (resuming), check it, move it to ``output_file``.

        Arguments:
          url: the URL.
          output_file: pooch's temporary file, which pooch verifies and renames.
          pooch_instance: the calling :class:`pooch.Pooch`.
          check_only: only ask whether the URL exists (pooch's ``is_available``).

        Returns:
          bool | None: availability with ``check_only``, else None.
        """
        if check_only:
            probe = pooch.HTTPDownloader(timeout=self.timeout, headers=self._headers(0))
            return probe(url, output_file, pooch_instance, check_only=True)
        self._transfer(url, pooch_instance)
        size = self.part.stat().st_size
        if self.expected_size is not None and size != self.expected_size:
            self.part.unlink()
            raise ChecksumError(
                f"{self.part.name[: -len('.part')]}: size is {size} bytes, expected "
                f"{self.expected_size} bytes (incomplete or wrong file)"
            )
        if self.verify is not None:
            try:
                self.verify(self.part, url)
            except ChecksumError:
                self.part.unlink()
                raise
        os.replace(self.part, output_file)
        return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason}"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"timed out ({exc})"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"connection dropped ({exc.args[0] if exc.args else exc})"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"connection failed ({exc})"
    return f"{type(exc).__name__}: {exc}"


def _retryable(exc: requests.exceptions.RequestException) -> bool:
    """Worth another attempt at the same URL: dropped connections, timeouts, 408/429/5xx."""
    if isinstance(exc, requests.exceptions.HTTPError):
        code = exc.response.status_code if exc.response is not None else 0
        return code in (408, 425, 429) or 500 <= code < 600
    # A malformed URL (InvalidURL, MissingSchema, ...) cannot get better by retrying.
    return not isinstance(exc, ValueError)


def _pooch_fetch(
    url: str, dest: Path, known_hash: str | None, downloader: ResumingDownloader, progress: bool
) -> None:
    """One pooch transfer of ``url`` to ``dest``, verified against ``known_hash``."""
    store = pooch.create(
        path=dest.parent,
        base_url="",
        registry={dest.name: known_hash},
        urls={dest.name: url},
        retry_if_failed=0,  # retries are ours: they resume, back off and change mirrors
    )
    with _pooch_log(progress):
        store.fetch(dest.name, downloader=downloader, progressbar=progress)


def _download(
    urls: Sequence[str],
    dest: Path,
    *,
    known_hash: str | None,
    expected_size: int | None,
    verify: Callable[[Path, str], None] | None,
    progress: bool,
    retries: int,
    backoff: float,
    timeout: float,
    checksum_hint: str,
) -> str:
    """Download ``dest`` from the first mirror that works; return the URL used."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    downloader = ResumingDownloader(
        part, progress=progress, timeout=timeout, expected_size=expected_size, verify=verify
    )
    failures: list[str] = []
    restarted = False
    for url in urls:
        attempt = 0
        while True:
            had_part = part.exists() and part.stat().st_size > 0
            try:
                _pooch_fetch(url, dest, known_hash, downloader, progress)
                return url
            except requests.exceptions.RequestException as exc:
                failures.append(f"{url}: {_describe(exc)}")
                if not _retryable(exc):
                    break
            except (ValueError, ChecksumError) as exc:
                # ValueError is pooch's "hash does not match" (it deleted the bytes); a
                # ChecksumError comes from the size check or `verify` (``part`` is gone too).
                if had_part and not restarted:
                    # The bytes resumed from may have come from an older version of the file.
                    _say(f"{dest.name}: resumed download failed verification; downloading again")
                    restarted = True
                    continue
                why = str(exc) if isinstance(exc, ChecksumError) else f"{dest.name}: {exc}"
                raise ChecksumError(
                    f"{why}\nThe bytes downloaded from {url} were deleted and NOT installed as "
                    f"{dest}."
                ) from exc
            attempt += 1
            if attempt > retries:
                break
            delay = backoff * (2 ** (attempt - 1))
            _say(f"{dest.name}: {failures[-1]}; retrying in {delay:.1f} s")
            time.sleep(delay)
    hint = f" It will be checked against {checksum_hint}." if checksum_hint else ""
    tried = "\n".join(f"  - {line}" for line in failures)
    if part.exists() and part.stat().st_size > 0:
        why = (
            f"The transfer kept failing; the {part.stat().st_size} bytes received are kept in "
            f"{part} and the next run resumes from there."
        )
    else:
        why = "This machine may be offline (no server could be reached)."
    raise DownloadUnavailableError(
        f"could not download {dest.name}; tried:\n{tried}\n{why}\n"
        f"To fetch it by hand, download\n  {urls[0]}\n"
        f"and save it as\n  {dest}\nthen run the same command again.{hint}",
        urls,
        dest,
    )


def download_file(
    urls: str | Sequence[str],
    dest: str | os.PathLike,
    *,
    known_hash: str | None = None,
    expected_size: int | None = None,
    verify: Callable[[Path, str], None] | None = None,
    progress: bool = True,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 60.0,
    checksum_hint: str = "",
) -> Path:
    """Download one file (trying mirrors in order) with pooch, resuming ``dest.part``.

    The finished bytes are checked (size, ``verify``, then ``known_hash`` by pooch) before they
    are renamed to ``dest``; bytes that fail are deleted and :class:`ChecksumError` is raised.
    A download that had resumed earlier bytes and fails is retried once from scratch first.
    An existing ``dest`` is used as it is when ``known_hash`` is None (pooch's rule).

    Arguments:
      urls: one URL or several mirrors.
      dest: final path.
      known_hash: ``"md5:<hex>"`` / ``"sha256:<hex>"`` checked by pooch, or None.
      expected_size: exact size when known; lets a complete ``.part`` be used without a request.
      verify: callable given the finished file and the URL it came from; raise ChecksumError
        to reject it.
      progress: show a progress bar and pooch's one-line messages.
      retries: extra attempts per URL after a dropped connection, timeout or 5xx answer.
      backoff: seconds before the first retry; doubles each time.
      timeout: requests timeout in seconds.
      checksum_hint: how the file will be verified, for the manual-download message.

    Returns:
      Path: ``dest``.
    """
    url_list = [urls] if isinstance(urls, str) else list(urls)
    dest = Path(dest)
    _download(
        url_list,
        dest,
        known_hash=known_hash,
        expected_size=expected_size,
        verify=verify,
        progress=progress,
        retries=retries,
        backoff=backoff,
        timeout=timeout,
        checksum_hint=checksum_hint,
    )
    return dest


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


def _check_zip_info(info: zipfile.ZipInfo, dest: Path, archive: Path) -> Path:
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UnsafeArchiveError(
            f"{archive}: member {info.filename!r} is a symbolic link; refusing"
        )
    return _member_target(dest, info.filename, archive)


def check_archive_members(
    archive: str | os.PathLike, dest: str | os.PathLike, kind: str
) -> int:
    """Refuse an archive any member of which would land outside ``dest``.

    Checked: absolute paths, ``..``, symbolic links (zip), links whose target leaves ``dest``
    and device or FIFO members (tar). The zip directory is read without extracting; a tar is
    streamed once, member by member.

    Arguments:
      archive: the archive file.
      dest: the folder it will be extracted into.
      kind: ``"zip"``, ``"tar"`` or ``"tar.gz"``.

    Returns:
      int: number of members.
    """
    archive = Path(archive)
    dest = Path(dest)
    if kind == "zip":
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                _check_zip_info(info, dest, archive)
            return len(infos)
    count = 0
    with tarfile.open(archive, "r|*") as tf:
        for member in tf:
            _member_target(dest, member.name, archive)
            if member.isdev() or member.isfifo():
                raise UnsafeArchiveError(
                    f"{archive}: member {member.name!r} is a device or FIFO; refusing"
                )
            if member.issym():
                link = _member_target(dest, str(PurePosixPath(member.name).parent), archive)
                _member_target(dest, os.path.relpath(link / member.linkname, dest), archive)
            elif member.islnk():
                _member_target(dest, member.linkname, archive)
            count += 1
    return count


def extract_zip_members(
    archive: str | os.PathLike,
    dest: str | os.PathLike,
    names: Iterable[str],
    progress: bool = True,
) -> int:
    """Extract only some members of a zip (e.g. 5,000 images out of COCO train2017).

    Not pooch's ``Unzip(members=...)``: that matches every requested name against every member
    by prefix (5,000 x 118,287 comparisons for train5K) and rewrites all of them when one is
    missing. Here member paths are checked like in :func:`extract_archive`, each file is written
    to a temporary name and renamed (an interrupted run never leaves a truncated image), and
    members already present with the right size are skipped. No completion marker is written
    (the archive is deliberately not fully extracted).

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
            target = _check_zip_info(info, dest, archive)
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

    Members are checked first (:func:`check_archive_members`), then pooch's ``Unzip`` or
    ``Untar`` extracts everything. If the marker exists and names the same archive digest,
    nothing is done. An extraction that was interrupted leaves no marker, so the next call
    extracts again, overwriting (pooch's own test, "every member exists", would accept a member
    truncated by the interruption).

    Arguments:
      archive: the archive file.
      dest: folder to extract into (created).
      kind: ``"zip"``, ``"tar"`` or ``"tar.gz"``; guessed from the name when None.
      sha256: digest of the archive, stored in the marker (computed when None).
      progress: print pooch's "Unzipping ..." line.

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
        with contextlib.suppress(ValueError):
            if json.loads(marker.read_text(encoding="utf-8")).get("sha256") == sha256:
                return dest
        marker.unlink()
    try:
        count = check_archive_members(archive, dest, kind)
        dest.mkdir(parents=True, exist_ok=True)
        # An absolute extract_dir is kept as is by pooch (os.path.join with an absolute path).
        processor = pooch.Unzip if kind == "zip" else pooch.Untar
        with _pooch_log(progress):
            # "download": extract even when the files exist, since they may be truncated.
            processor(extract_dir=str(dest.resolve()))(str(archive.resolve()), "download", None)
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
    """Look a registry entry up by name (entries pass through unchanged).

    Arguments:
      name: registry key or an entry.
      registry: where to look (default: :data:`.registry.REGISTRY`).

    Returns:
      RemoteFile: the entry.
    """
    if isinstance(name, RemoteFile):
        return name
    registry = REGISTRY if registry is None else registry
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise KeyError(f"unknown dataset file {name!r}; known: {known}") from None


def _manual_message(spec: RemoteFile, target: Path, lock: ChecksumLock, note: str) -> str:
    extra = f"\n(Previous attempt: {note})" if note else ""
    size = f" (about {spec.approx_size})" if spec.approx_size[:1].isdigit() else ""
    return (
        f"{spec.name} cannot be downloaded automatically: it is only offered through a "
        f"web page.\n  1. Open {spec.urls[0]}\n"
        f"  2. Download the data{size}: {spec.description}\n"
        f"  3. Save the archive (renamed if needed) as\n       {target}\n"
        f"  4. Run the same command again; the file will be checked against "
        f"{_checksum_hint(spec, lock)}.{extra}"
    )


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
    Otherwise download it with pooch (resuming ``<filename>.part``; checked against the
    published checksum, or the one recorded on first use, before it is installed), record it in
    the lock, then extract archives into ``root/<extract_to>``.

    Arguments:
      name: registry key or a :class:`RemoteFile`.
      root: data root folder (created); the lock file lives here.
      extract: extract archives (ignored for plain files).
      progress: show progress bars and pooch's messages.
      retries: retries per URL after transient failures.
      backoff: first retry delay in seconds (doubles).
      timeout: requests timeout in seconds.
      registry: registry to look ``name`` up in (default: :data:`.registry.REGISTRY`).

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
            raise ManualDownloadRequired(
                _manual_message(spec, target, lock, note), spec.urls, target
            )
        tofu = lock.recorded_tofu_hash(spec.filename) if spec.checksum is None else None
        try:
            url = _download(
                list(spec.urls),
                target,
                known_hash=spec.checksum or tofu,
                expected_size=spec.size,
                verify=None,
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
        except ChecksumError as exc:
            if tofu is None:
                raise
            raise ChecksumError(
                f"{_tofu_mismatch(spec, lock, 'the new download differs')}\n{exc}"
            ) from exc
        sha = verify_file(target, spec, lock, source=url)
    if spec.archive is not None and extract:
        dest = root / (spec.extract_to or ".")
        return extract_archive(target, dest, spec.archive, sha256=sha, progress=progress)
    return target
