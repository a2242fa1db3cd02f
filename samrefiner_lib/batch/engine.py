"""Run a dataset job item by item: resumable, failure-tolerant, sharded, merged at the end.

Layout of an output folder::

    <out>/run.json                     what produced the folder (checked on every rerun)
    <out>/.state/done/<item>.json      one marker per finished item, holding its record
    <out>/.state/failed/<item>.json    one marker per item whose last attempt failed
    <out>/failures.jsonl               the failed items (merged, in item order)
    <out>/...                          the job's outputs (masks, label maps, merged JSON)

* Resume: an item counts as finished when its done marker exists and every file its record
  lists exists. Outputs are written atomically before the marker (also atomic), so a process
  killed at any moment leaves each item either finished or to be redone; redoing an item
  rewrites the same bytes (the refinement is deterministic), and the final outputs are merged
  from the markers, so an interrupted-and-resumed run ends with byte-identical files.
* Failures: an exception while processing one item is logged, written to its failed marker and
  skipped; the remaining items still run. A rerun retries failed items.
* Sharding: with ``torchrun``, rank r processes items r, r + K, r + 2K, ...; after a barrier,
  rank 0 merges every finished item of the whole job in item order, so the merged outputs do not
  depend on the number of ranks.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tqdm.auto import tqdm

from .atomic import dumps_canonical, read_json, write_bytes_atomic, write_json_atomic
from .distributed import DistContext, shard

STATE_DIR = ".state"
MANIFEST = "run.json"
FAILURES = "failures.jsonl"


class Job(Protocol):
    """One dataset's refinement, split into independent items (usually images).

    Attributes:
      name: short dataset label for messages.
    """

    name: str

    def keys(self) -> list[str]:
        """Every item of the job, in the order outputs are merged."""
        ...

    def fingerprint(self) -> dict[str, Any]:
        """What must match for a rerun to reuse this folder's finished items."""
        ...

    def process(self, key: str, out_dir: Path) -> dict[str, Any]:
        """Refine one item, write its outputs atomically, return its JSON record.

        A record may list the files it wrote (relative to ``out_dir``) under ``"files"``.
        """
        ...

    def merge(self, out_dir: Path, records: list[dict[str, Any]]) -> list[Path]:
        """Write the final outputs from the records of all finished items (in key order)."""
        ...


@dataclass
class RunSummary:
    """What one run did.

    Attributes:
      items: items in the job.
      selected: items this run was asked to process (after ``limit``), all ranks.
      assigned: items of this rank.
      skipped: this rank's items already finished before the run.
      processed: this rank's items finished by this run.
      failed: keys of this rank's items that failed in this run.
      processed_all, skipped_all, failed_all: the same counts summed over all ranks.
      done_total: finished items of the whole job after the run (rank 0 only, else -1).
      failed_total: failed items of the whole job after the run (rank 0 only, else -1).
      outputs: files written by the merge (rank 0 only).
    """

    items: int
    selected: int
    assigned: int
    skipped: int = 0
    processed: int = 0
    failed: list[str] = field(default_factory=list)
    processed_all: int = 0
    skipped_all: int = 0
    failed_all: int = 0
    done_total: int = -1
    failed_total: int = -1
    outputs: list[Path] = field(default_factory=list)


class OutputFolderMismatch(ValueError):
    """The output folder holds results of a different job, method or model."""


def marker_name(key: str) -> str:
    """A file name for an item key: readable part plus a hash (keys may hold '/' or spaces)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:80]
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
    return f"{safe}-{digest}.json"


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            out += _differences(old.get(k), new.get(k), f"{prefix}{k}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]


def check_manifest(out_dir: Path, fingerprint: dict[str, Any], extra: dict[str, Any],
                   ctx: DistContext) -> None:
    """Refuse a folder made by another job; write the manifest on the first run.

    Arguments:
      out_dir: output folder.
      fingerprint: must equal the stored one (JSON-normalised).
      extra: recorded beside it, not compared (paths, software versions).
      ctx: rank 0 writes; every rank checks first, so all fail alike on a mismatch.
    """
    path = out_dir / MANIFEST
    normal = json.loads(dumps_canonical(fingerprint))  # tuples -> lists, as stored
    if ctx.is_main:
        remove_stray_temporaries(out_dir)  # no rank writes before the barrier below
    if path.is_file():
        stored = read_json(path).get("fingerprint")
        if stored != normal:
            diff = ", ".join(_differences(stored, normal)[:6]) or "format"
            raise OutputFolderMismatch(
                f"--out {out_dir}: the folder holds results of a different run (differs in: "
                f"{diff}); use another output folder or delete this one"
            )
    ctx.barrier()
    if ctx.is_main and not path.is_file():
        write_json_atomic(path, {"fingerprint": normal, **extra}, indent=2)
    ctx.barrier()


def remove_stray_temporaries(out_dir: Path) -> int:
    """Delete the ``*.part`` files an interrupted run left behind; returns how many."""
    stray = [p for p in out_dir.rglob("*.part") if p.is_file()]
    for p in stray:
        p.unlink(missing_ok=True)
    return len(stray)


def _finished(marker: Path, out_dir: Path) -> bool:
    if not marker.is_file():
        return False
    try:
        record = read_json(marker)["record"]
    except (ValueError, KeyError, OSError):
        return False  # unreadable marker: redo the item
    return all((out_dir / f).is_file() for f in record.get("files", []))


def run_job(
    job: Job,
    out_dir: str | Path,
    ctx: DistContext | None = None,
    *,
    limit: int | None = None,
    progress: bool = True,
    fingerprint_extra: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> RunSummary:
    """Process a job's items (this rank's share), then merge all finished items on rank 0.

    Arguments:
      job: the dataset job.
      out_dir: output folder (created; must be shared by all ranks).
      ctx: distributed context (default: a single process).
      limit: process only the first N items of the job (the merge still covers every finished
        item).
      progress: show a progress bar (rank 0) with rate and ETA.
      fingerprint_extra: added to the job's fingerprint (e.g. the model's checksum): a rerun
        with other values is refused.
      extra: recorded in ``run.json`` beside the fingerprint (not compared on reruns).

    Returns:
      RunSummary
    """
    ctx = ctx or DistContext()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done_dir, failed_dir = out / STATE_DIR / "done", out / STATE_DIR / "failed"
    keys = job.keys()
    if len(set(keys)) != len(keys):  # two items would write (and resume) the same outputs
        seen: set[str] = set()
        repeated = sorted({k for k in keys if k in seen or seen.add(k)})
        raise ValueError(f"{job.name}: items listed more than once: {repeated[:5]}; each image "
                         "may appear once (check the image list)")
    check_manifest(out, {**job.fingerprint(), **(fingerprint_extra or {})}, extra or {}, ctx)
    selected = keys if limit is None else keys[: max(0, limit)]
    mine = shard(selected, ctx.rank, ctx.world_size)
    todo = [k for k in mine if not _finished(done_dir / marker_name(k), out)]
    summary = RunSummary(items=len(keys), selected=len(selected), assigned=len(mine),
                         skipped=len(mine) - len(todo))
    desc = f"refine {job.name}" + (f" [rank 0 of {ctx.world_size}]" if ctx.world_size > 1 else "")
    bar = tqdm(total=len(mine), initial=summary.skipped, desc=desc, unit="img",
               disable=not progress or not ctx.is_main, smoothing=0.05, file=sys.stderr)
    for key in todo:
        name = marker_name(key)
        try:
            record = job.process(key, out)
        except Exception as exc:  # one bad image must not stop the others
            summary.failed.append(key)
            tqdm.write(f"warning: {job.name} item {key!r} failed and was skipped: "
                       f"{type(exc).__name__}: {exc}", file=sys.stderr)
            write_json_atomic(failed_dir / name, {
                "key": key, "error": type(exc).__name__, "message": str(exc),
                "traceback": traceback.format_exc()})
        else:
            write_json_atomic(done_dir / name, {"key": key, "record": record})
            (failed_dir / name).unlink(missing_ok=True)
            summary.processed += 1
        bar.update(1)
        if summary.failed:
            bar.set_postfix(failed=len(summary.failed), refresh=False)
    bar.close()
    summary.processed_all, summary.skipped_all, summary.failed_all = ctx.sum(
        [summary.processed, summary.skipped, len(summary.failed)])  # also a barrier
    if ctx.is_main:
        _merge(job, out, keys, done_dir, failed_dir, summary)
    ctx.barrier()
    return summary


def _merge(job: Job, out: Path, keys: list[str], done_dir: Path, failed_dir: Path,
           summary: RunSummary) -> None:
    records, failures = [], []
    for key in keys:
        name = marker_name(key)
        if _finished(done_dir / name, out):
            records.append(read_json(done_dir / name)["record"])
        elif (failed_dir / name).is_file():
            failures.append(read_json(failed_dir / name))
    summary.outputs = job.merge(out, records)
    lines = "".join(dumps_canonical(f) + "\n" for f in failures)
    write_bytes_atomic(out / FAILURES, lines.encode("ascii"))
    summary.outputs.append(out / FAILURES)
    summary.done_total, summary.failed_total = len(records), len(failures)
