"""``samrefiner refine-dataset``: outputs, resume after SIGKILL, failures, torchrun sharding."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from samrefiner_lib.batch import DistContext, marker_name, shard
from samrefiner_lib.cli import main
from samrefiner_lib.metrics import decode_rle, masks_to_coco, masks_to_results

from .test_evaluate_cli import (
    corrupt,
    make_scene,
    write_coco,
    write_davis,
    write_voc,
)

REPO = Path(__file__).resolve().parents[1]


def _coco_args(paths: dict[str, Path], out: Path, ckpt: Path, *extra: str) -> list[str]:
    return ["refine-dataset", "--dataset", "coco", "--ann-file", str(paths["ann"]),
            "--image-dir", str(paths["images"]), "--detections", str(paths["dets"]),
            "--out", str(out), "--checkpoint", str(ckpt), "--threads", "1", "--no-progress",
            *extra]


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _done(out: Path) -> int:
    folder = out / ".state" / "done"
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


# --------------------------------------------------------------------------- outputs


def test_coco_detections_become_refined_results(tmp_path, ckpt, capsys):
    paths = write_coco(tmp_path / "coco")
    out = tmp_path / "out"
    assert main(_coco_args(paths, out, ckpt)) == 0
    assert "3 of 3 items finished (3 in this run, 0 already done)" in capsys.readouterr().out
    results = json.loads((out / "refined_results.json").read_text())
    dets = json.loads(paths["dets"].read_text())
    assert len(results) == len(dets)
    for r, d in zip(results, dets, strict=True):  # same order, same detections
        assert (r["image_id"], r["category_id"], r["score"]) == (
            d["image_id"], d["category_id"], d["score"])
        assert decode_rle(r["segmentation"]).shape == (72, 96)
        assert isinstance(r["refine_score"], float)
    assert [r["source_index"] for r in results] == list(range(len(dets)))
    assert (out / "failures.jsonl").read_text() == ""
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["fingerprint"]["method"]["config"]["preset"] == "paper"
    assert len(manifest["fingerprint"]["model"]["checkpoint_md5"]) == 32
    assert manifest["software"]["torch"]

    before = _tree(out)
    assert main(_coco_args(paths, out, ckpt)) == 0  # nothing left to do
    assert "(0 in this run, 3 already done)" in capsys.readouterr().out
    assert _tree(out) == before


def test_other_configuration_is_refused_in_the_same_folder(tmp_path, ckpt, capsys):
    paths = write_coco(tmp_path / "coco", n=1)
    out = tmp_path / "out"
    assert main(_coco_args(paths, out, ckpt)) == 0
    assert main(_coco_args(paths, out, ckpt, "--preset", "reference")) == 2
    err = capsys.readouterr().err
    assert "different run" in err and "method.config" in err


def test_coco_annotations_with_sam_scores(tmp_path, ckpt):
    paths = write_coco(tmp_path / "coco", n=2)
    out = tmp_path / "out"
    args = _coco_args(paths, out, ckpt, "--score", "sam")
    del args[args.index("--detections"): args.index("--detections") + 2]
    assert main(args) == 0
    results = json.loads((out / "refined_results.json").read_text())
    assert [r["annotation_id"] for r in results] == [1, 2, 3, 4]
    assert all(r["score"] == r["refine_score"] for r in results)


def test_sam_score_needs_a_sam_method(tmp_path, ckpt, capsys):
    paths = write_coco(tmp_path / "coco", n=1)
    out = tmp_path / "out"
    assert main(_coco_args(paths, out, ckpt, "--score", "sam", "--method", "morph-open")) == 1
    failure = json.loads((out / "failures.jsonl").read_text())
    assert "--score sam" in failure["message"]


def test_davis585_frames(tmp_path, ckpt):
    write_davis(tmp_path / "DAVIS585", frames=2, objects=2)
    out = tmp_path / "out"
    assert main(["refine-dataset", "--dataset", "davis585", "--root", str(tmp_path),
                 "--out", str(out), "--checkpoint", str(ckpt), "--threads", "1",
                 "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    names = [m["name"] for m in summary["masks"]]
    assert names == ["seqA/object1_00000", "seqA/object2_00000", "seqA/object1_00001",
                     "seqA/object2_00001"]
    for m in summary["masks"]:
        png = np.asarray(Image.open(out / m["file"]))
        assert png.shape == (72, 96) and set(np.unique(png)) <= {0, 255}


def test_voc_label_maps(tmp_path, ckpt):
    paths = write_voc(tmp_path / "voc")
    out = tmp_path / "out"
    for method in ("morph-open-close", "samrefiner"):
        target = out / method
        assert main(["refine-dataset", "--dataset", "voc", "--root", str(paths["root"]),
                     "--coarse-dir", str(paths["coarse"]), "--method", method,
                     "--out", str(target), "--checkpoint", str(ckpt), "--threads", "1",
                     "--no-progress"]) in (0, 1)
    summary = json.loads((out / "morph-open-close" / "summary.json").read_text())
    assert [s["id"] for s in summary["images"]] == ["2007_000000", "2007_000001", "2007_000002"]
    refined = np.asarray(Image.open(out / "morph-open-close" / "labels" / "2007_000000.png"))
    assert refined.shape == (72, 96) and set(np.unique(refined)) <= {0, 1, 15, 255}
    sam = out / "samrefiner"
    if (sam / "failures.jsonl").read_text():  # no split-then-merge in this installation
        assert "samrefiner_lib.stm" in (sam / "failures.jsonl").read_text()
    else:
        assert len(list((sam / "labels").glob("*.png"))) == 3


# --------------------------------------------------------------------------- failures


def test_a_broken_image_is_logged_and_skipped(tmp_path, ckpt, capsys):
    paths = write_coco(tmp_path / "coco", n=3)
    broken = paths["images"] / "000002.png"
    good = broken.read_bytes()
    broken.write_bytes(b"not an image")
    out = tmp_path / "out"
    assert main(_coco_args(paths, out, ckpt)) == 1
    captured = capsys.readouterr()
    assert "item '2' failed" in captured.err and "failures.jsonl" in captured.err
    assert "2 of 3 items finished" in captured.out
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert [f["key"] for f in failures] == ["2"] and "000002.png" in failures[0]["message"]
    results = json.loads((out / "refined_results.json").read_text())
    assert sorted({r["image_id"] for r in results}) == [1, 3]

    broken.write_bytes(good)  # repaired: the rerun retries only that image
    assert main(_coco_args(paths, out, ckpt)) == 0
    assert "(1 in this run, 2 already done)" in capsys.readouterr().out
    assert (out / "failures.jsonl").read_text() == ""
    assert not any((out / ".state" / "failed").glob("*.json"))
    fresh = tmp_path / "fresh"
    assert main(_coco_args(paths, fresh, ckpt)) == 0
    assert (out / "refined_results.json").read_bytes() == (
        fresh / "refined_results.json").read_bytes()


# --------------------------------------------------------------------------- kill -9 and ranks


@pytest.fixture(scope="module")
def many_images(tmp_path_factory) -> dict[str, Path]:
    """40 images with 6 objects each: long enough to interrupt between images."""
    root = tmp_path_factory.mktemp("many")
    (root / "images").mkdir()
    images, dets, names = [], [], []
    for i in range(40):
        img, masks = make_scene(500 + i, h=160, w=200, n=6)
        name = f"{i + 1:06d}.png"
        Image.fromarray(img).save(root / "images" / name)
        images.append((img.shape[:2], masks, [1] * len(masks)))
        names.append(name)
        coarse = np.stack([corrupt(m, k) for k, m in enumerate(masks)])
        dets += masks_to_results(i + 1, coarse, [1] * len(masks), [0.5] * len(masks))
    (root / "ann.json").write_text(json.dumps(masks_to_coco(images, {1: "disk"},
                                                            file_names=names)))
    (root / "dets.json").write_text(json.dumps(dets))
    return {"ann": root / "ann.json", "images": root / "images", "dets": root / "dets.json"}


@pytest.fixture(scope="module")
def uninterrupted(many_images, ckpt, tmp_path_factory) -> dict[str, bytes]:
    """The output tree of one uninterrupted single-process run."""
    out = tmp_path_factory.mktemp("reference") / "out"
    threads = torch.get_num_threads()
    try:
        assert main(_coco_args(many_images, out, ckpt, "--preset", "reference")) == 0
    finally:
        torch.set_num_threads(threads)
    return _tree(out)


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def test_kill_9_then_resume_gives_identical_bytes(many_images, ckpt, uninterrupted, tmp_path,
                                                  capsys):
    out = tmp_path / "out"
    args = _coco_args(many_images, out, ckpt, "--preset", "reference")
    proc = subprocess.Popen([sys.executable, "-m", "samrefiner_lib.cli", *args], cwd=REPO,
                            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while _done(out) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    finished = _done(out)
    assert 3 <= finished < 40, "the run was not interrupted part-way"
    assert not (out / "refined_results.json").exists()  # killed before the merge

    assert main(args) == 0
    assert f"({40 - finished} in this run, {finished} already done)" in capsys.readouterr().out
    assert _tree(out) == uninterrupted


def test_two_gloo_ranks_merge_to_the_single_process_output(many_images, ckpt, uninterrupted,
                                                           tmp_path):
    out = tmp_path / "out"
    args = _coco_args(many_images, out, ckpt, "--preset", "reference")
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "samrefiner_lib.cli", *args],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "40 of 40 items finished (40 in this run, 0 already done, 2 ranks)" in run.stdout
    assert _tree(out) == uninterrupted


def test_shard_is_round_robin_and_single_process_context_is_inert():
    keys = [str(i) for i in range(7)]
    parts = [shard(keys, r, 3) for r in range(3)]
    assert parts == [["0", "3", "6"], ["1", "4"], ["2", "5"]]
    assert sorted(sum(parts, [])) == sorted(keys)
    with pytest.raises(ValueError):
        shard(keys, 3, 3)
    ctx = DistContext()
    ctx.barrier()
    assert ctx.sum([1, 2]) == [1, 2] and ctx.is_main
    assert marker_name("seq/a b") != marker_name("seq_a_b")  # sanitised names stay distinct
