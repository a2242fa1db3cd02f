"""``samrefiner evaluate`` on small fake datasets written to disk, with a tiny random SAM.

The writers below (``write_*``) build miniature copies of each dataset layout; the dataset-scale
tests import them too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from samrefiner_lib.cli import main
from samrefiner_lib.datasets import load_real_pairs, write_label_png
from samrefiner_lib.evaluation import with_davis585_coarse
from samrefiner_lib.evaluation.sources import open_dataset
from samrefiner_lib.metrics import ConfusionMatrix, coco_mask_ap, masks_to_coco, masks_to_results

# --------------------------------------------------------------------------- fake datasets


def make_scene(seed: int, h: int = 72, w: int = 96, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """An HxWx3 noisy image with n coloured disks, and their NxHxW masks."""
    rng = np.random.default_rng(seed)
    img = (rng.random((h, w, 3)) * 50).astype(np.uint8)
    yy, xx = np.mgrid[:h, :w]
    masks = []
    for _ in range(n):
        cy, cx = rng.integers(16, h - 16), rng.integers(16, w - 16)
        r = rng.integers(8, 14)
        m = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        img[m] = rng.integers(120, 255, 3).astype(np.uint8)
        masks.append(m)
    return img, np.stack(masks)


def corrupt(mask: np.ndarray, seed: int) -> np.ndarray:
    """A coarse version of a mask: dilated or eroded, with a spur."""
    k = np.ones((3, 3), np.uint8)
    m = mask.astype(np.uint8)
    m = cv2.dilate(m, k, iterations=2) if seed % 2 else cv2.erode(m, k, iterations=1)
    ys, xs = np.nonzero(mask)
    if ys.size:
        m[ys[0]: ys[0] + 3, max(xs[0] - 6, 0): xs[0]] = 1
    return m.astype(bool)


def write_grabcut(root: Path, n: int = 3) -> Path:
    """GrabCut layout: data_GT/ images, boundary_GT/ BMP masks with a 128 band."""
    (root / "data_GT").mkdir(parents=True)
    (root / "boundary_GT").mkdir()
    k = np.ones((3, 3), np.uint8)
    for i in range(n):
        img, masks = make_scene(i, n=1)
        m = masks[0].astype(np.uint8)
        band = cv2.dilate(m, k) & (1 - cv2.erode(m, k))
        gt = np.where(m > 0, 255, 0).astype(np.uint8)
        gt[band > 0] = 128
        Image.fromarray(img).save(root / "data_GT" / f"img{i}.png")
        Image.fromarray(gt).save(root / "boundary_GT" / f"img{i}.bmp")
    return root


def write_davis(root: Path, frames: int = 2, objects: int = 2) -> Path:
    """DAVIS-585 layout: <seq>/<frame>.jpg, <obj>_<frame>.png, init_sp_/init_stm_ masks."""
    seq = root / "seqA"
    seq.mkdir(parents=True)
    for f in range(frames):
        img, masks = make_scene(100 + f, n=objects)
        frame = f"{f:05d}"
        Image.fromarray(img).save(seq / f"{frame}.jpg", quality=95)
        for k, m in enumerate(masks):
            name = f"object{k + 1}_{frame}.png"
            Image.fromarray((m * 255).astype(np.uint8)).save(seq / name)
            coarse = (corrupt(m, f + k) * 255).astype(np.uint8)
            Image.fromarray(coarse).save(seq / f"init_sp_{name}")
            Image.fromarray(coarse).save(seq / f"init_stm_{name}")
    return root


def write_coco(root: Path, n: int = 3, objects: int = 2) -> dict[str, Path]:
    """COCO layout: images/, annotations JSON, and detection results with coarse masks."""
    (root / "images").mkdir(parents=True)
    images, dets, names = [], [], []
    for i in range(n):
        img, masks = make_scene(200 + i, n=objects)
        name = f"{i + 1:06d}.png"
        Image.fromarray(img).save(root / "images" / name)
        cats = [1 + (k % 2) for k in range(len(masks))]
        images.append((img.shape[:2], masks, cats))
        names.append(name)
        coarse = np.stack([corrupt(m, i + k) for k, m in enumerate(masks)])
        dets += masks_to_results(i + 1, coarse, cats, [0.9 - 0.1 * k for k in range(len(masks))])
    gt = masks_to_coco(images, {1: "disk", 2: "blob"}, file_names=names)
    (root / "ann.json").write_text(json.dumps(gt))
    (root / "dets.json").write_text(json.dumps(dets))
    return {"ann": root / "ann.json", "images": root / "images", "dets": root / "dets.json"}


def write_voc(root: Path, n: int = 3) -> dict[str, Path]:
    """VOC layout: JPEGImages/, SegmentationClass/ (with a 255 band), val list, coarse maps."""
    voc = root / "VOC2012"
    for d in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (voc / d).mkdir(parents=True)
    coarse_dir = root / "coarse"
    ids = [f"2007_{i:06d}" for i in range(n)]
    k = np.ones((3, 3), np.uint8)
    for i, name in enumerate(ids):
        img, masks = make_scene(300 + i, n=2)
        Image.fromarray(img).save(voc / "JPEGImages" / f"{name}.jpg", quality=95)
        labels = np.zeros(img.shape[:2], np.uint8)
        coarse = np.zeros_like(labels)
        for c, m in zip((i % 20 + 1, 15), masks, strict=True):
            labels[m] = c
            coarse[corrupt(m, i + c)] = c
        edge = cv2.morphologyEx((labels > 0).astype(np.uint8), cv2.MORPH_GRADIENT, k) > 0
        labels[edge] = 255
        coarse[:2, :5] = 255  # an unlabelled corner in the coarse map
        write_label_png(labels, voc / "SegmentationClass" / f"{name}.png")
        write_label_png(coarse, coarse_dir / f"{name}.png")
    (voc / "ImageSets" / "Segmentation" / "val.txt").write_text("\n".join(ids) + "\n")
    return {"root": voc, "coarse": coarse_dir}


# --------------------------------------------------------------------------- fixtures


def _model(ckpt: Path) -> list[str]:
    return ["--checkpoint", str(ckpt), "--device", "cpu", "--no-progress", "--threads", "1"]


# --------------------------------------------------------------------------- instance sets


def test_grabcut_json_records_configuration_and_metrics(tmp_path, ckpt, capsys):
    root = write_grabcut(tmp_path / "GrabCut")
    out = tmp_path / "res.json"
    code = main(["evaluate", "--dataset", "grabcut", "--root", str(root), "--out", str(out),
                 "--methods", "samrefiner", "sam-box", "morph-open-close", "--seed", "3",
                 *_model(ckpt)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "mBA" in printed and "samrefiner" in printed
    res = json.loads(out.read_text())
    info = res["info"]
    assert info["dataset"] == "grabcut" and info["seed"] == 3 and info["images"] == 3
    assert "128" in info["protocol"]
    assert info["model"]["checkpoint"] == str(ckpt) and len(info["model"]["checkpoint_md5"]) == 32
    assert info["software"]["torch"] and info["software"]["segment-anything"] == "1.0"
    assert res["methods"]["samrefiner"]["config"]["preset"] == "paper"
    assert res["methods"]["samrefiner"]["config"]["selector"] == "predicted_iou"
    assert res["methods"]["sam-box"]["config"]["use_mask"] is False
    assert res["methods"]["morph-open-close"]["config"] == {
        "baseline": "morphology", "operation": "open_close", "radius": 3}
    rows = {r["method"]: r for r in res["table"]}
    assert set(rows) == {"coarse", "samrefiner", "sam-box", "morph-open-close"}
    for row in rows.values():
        assert row["objects"] == 3
        for col in ("IoU", "mIoU", "boundary IoU", "mBA"):
            assert 0 <= row[col] <= 100


def test_limit_and_csv_and_per_object(tmp_path, ckpt):
    root = write_grabcut(tmp_path / "GrabCut")
    out, per = tmp_path / "res.csv", tmp_path / "objects.csv"
    code = main(["evaluate", "--dataset", "grabcut", "--root", str(root), "--out", str(out),
                 "--methods", "reference", "--limit", "2", "--iterations", "2",
                 "--per-object", str(per), *_model(ckpt)])
    assert code == 0
    df = pd.read_csv(out)
    assert list(df["method"]) == ["coarse", "reference"]
    assert (df["objects"] == 2).all()
    cfg = json.loads(df.loc[df["method"] == "reference", "config"].iloc[0])
    assert cfg["preset"] == "reference" and cfg["iterations"] == 5  # --iterations is samrefiner's
    assert json.loads(df["software"].iloc[0])["numpy"]
    assert (df["dataset"] == "grabcut").all() and (df["limit"] == 2).all()
    objects = pd.read_csv(per)
    assert len(objects) == 4 and {"iou", "boundary_iou", "mba"} <= set(objects.columns)


def test_protocol_view_matches_with_davis585_coarse(tmp_path):
    root = write_grabcut(tmp_path / "GrabCut")
    source = open_dataset("grabcut", root, seed=5)
    from samrefiner_lib.datasets import grabcut

    direct = list(with_davis585_coarse(grabcut(root), seed=5))
    lazy = list(source.samples)
    assert len(lazy) == len(source) == 3
    for a, b in zip(lazy, direct, strict=True):
        assert a.name == b.name
        np.testing.assert_array_equal(a.coarse, b.coarse)
        np.testing.assert_array_equal(a.ignore, b.ignore)


def test_davis585_uses_released_init_masks(tmp_path, ckpt):
    write_davis(tmp_path / "DAVIS585")
    out = tmp_path / "davis.json"
    assert main(["evaluate", "--dataset", "davis585", "--root", str(tmp_path), "--out", str(out),
                 "--methods", "morph-median", *_model(ckpt)]) == 0
    res = json.loads(out.read_text())
    assert res["info"]["init"] == "sp" and res["info"]["model"] is None  # no SAM method ran
    rows = {r["method"]: r for r in res["table"]}
    assert rows["coarse"]["objects"] == 4
    assert rows["coarse"]["IoU"] < 100


def test_synthdavis_baselines_only(tmp_path):
    out = tmp_path / "synth.json"
    assert main(["evaluate", "--dataset", "synthdavis", "--objects", "3", "--limit", "1",
                 "--methods", "morph-open", "--out", str(out), "--no-progress"]) == 0
    res = json.loads(out.read_text())
    assert res["info"]["images"] == 1 and res["info"]["split"] == "test"


@pytest.mark.skipif(load_real_pairs() is None, reason="shared real data folder not present")
def test_real_pairs_quick(tmp_path):
    out = tmp_path / "real.json"
    assert main(["evaluate", "--dataset", "real", "--subsets", "GrabCut", "--limit", "1",
                 "--methods", "morph-open", "--out", str(out), "--no-progress"]) == 0
    res = json.loads(out.read_text())
    assert res["info"]["subsets"] == ["GrabCut"] and res["table"][0]["objects"] == 1
    assert res["info"]["split"] == "val" and res["info"]["counts"] == {"GrabCut": 18}


# --------------------------------------------------------------------------- COCO and VOC


def test_coco_ap_before_and_after(tmp_path, ckpt):
    paths = write_coco(tmp_path / "coco")
    out = tmp_path / "coco.json"
    code = main(["evaluate", "--dataset", "coco", "--ann-file", str(paths["ann"]),
                 "--image-dir", str(paths["images"]), "--detections", str(paths["dets"]),
                 "--methods", "samrefiner", "morph-close", "--out", str(out), *_model(ckpt)])
    assert code == 0
    res = json.loads(out.read_text())
    rows = {r["method"]: r for r in res["table"]}
    assert set(rows) == {"coarse", "samrefiner", "morph-close"}
    assert all(r["detections"] == 6 for r in rows.values())
    # The coarse row is exactly the AP of the detection file as given.
    direct = coco_mask_ap(str(paths["ann"]), json.loads(paths["dets"].read_text()))
    assert rows["coarse"]["AP"] == pytest.approx(direct["AP"])
    assert 0 <= rows["samrefiner"]["boundary AP"] <= 100


def test_coco_limit_restricts_ground_truth(tmp_path):
    paths = write_coco(tmp_path / "coco")
    out = tmp_path / "coco.json"
    assert main(["evaluate", "--dataset", "coco", "--ann-file", str(paths["ann"]),
                 "--image-dir", str(paths["images"]), "--detections", str(paths["dets"]),
                 "--methods", "morph-open", "--limit", "1", "--out", str(out),
                 "--no-progress"]) == 0
    res = json.loads(out.read_text())
    assert res["info"]["images"] == 1
    assert res["table"][0]["detections"] == 2


def test_voc_miou(tmp_path, ckpt, capsys):
    paths = write_voc(tmp_path / "voc")
    out = tmp_path / "voc.json"
    code = main(["evaluate", "--dataset", "voc", "--root", str(paths["root"]), "--coarse-dir",
                 str(paths["coarse"]), "--methods", "samrefiner", "morph-open-close",
                 "--out", str(out), *_model(ckpt)])
    assert code == 0
    res = json.loads(out.read_text())
    rows = {r["method"]: r for r in res["table"]}
    # The coarse row equals a confusion matrix accumulated directly.
    cm = ConfusionMatrix(21)
    for name in (paths["root"] / "ImageSets/Segmentation/val.txt").read_text().split():
        gt = np.asarray(Image.open(paths["root"] / "SegmentationClass" / f"{name}.png"))
        cm.update(np.asarray(Image.open(paths["coarse"] / f"{name}.png")), gt)
    assert rows["coarse"]["mIoU"] == pytest.approx(100 * cm.miou())
    assert "morph-open-close" in rows
    notes = res["info"]["notes"]
    if "samrefiner" in rows:  # split-then-merge is installed
        assert res["methods"]["samrefiner"]["config"]["semantic_mode"] == "stm" and not notes
    else:
        assert "samrefiner_lib.stm" in notes[0]
        assert "samrefiner_lib.stm" in capsys.readouterr().err


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("extra, message", [
    (["--methods", "nonsense"], "unknown method 'nonsense'"),
    (["--out", "results.txt"], "must end in .json or .csv"),
    (["--methods", "cascadepsp"], "--cascadepsp-weights"),
])
def test_bad_arguments_exit_2(tmp_path, extra, message, capsys):
    root = write_grabcut(tmp_path / "GrabCut", n=1)
    # argparse keeps the last value of a repeated option, so extra "--out" replaces the first.
    args = ["evaluate", "--dataset", "grabcut", "--root", str(root),
            "--out", str(tmp_path / "r.json"), "--no-progress", *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_coco_needs_detections_and_missing_root(tmp_path, capsys):
    paths = write_coco(tmp_path / "coco", n=1)
    assert main(["evaluate", "--dataset", "coco", "--ann-file", str(paths["ann"]),
                 "--image-dir", str(paths["images"]), "--methods", "morph-open",
                 "--out", str(tmp_path / "r.json")]) == 2
    assert "--detections" in capsys.readouterr().err
    assert main(["evaluate", "--dataset", "grabcut", "--root", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "r.json")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_unavailable_baseline_names_what_to_install(tmp_path, monkeypatch, capsys):
    root = write_grabcut(tmp_path / "GrabCut", n=1)
    weights = tmp_path / "psp"
    weights.mkdir()
    monkeypatch.setitem(__import__("sys").modules, "segmentation_refinement", None)
    assert main(["evaluate", "--dataset", "grabcut", "--root", str(root), "--methods",
                 "cascadepsp", "--cascadepsp-weights", str(weights),
                 "--out", str(tmp_path / "r.json")]) == 2
    assert "pip install segmentation-refinement" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "r.json")
