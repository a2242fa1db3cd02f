"""Dataset loaders on small fake folders written with PIL, and on the shared real data."""

from __future__ import annotations

import dataclasses
import functools
import json
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from samrefiner_lib.datasets import (
    CocoInstances,
    DatasetError,
    Davis585,
    InteractiveFolder,
    ManualDownloadRequired,
    RealDataMissingWarning,
    Sample,
    SampleError,
    VocSemantic,
    cocofy_lvis,
    default_real_root,
    find_dataset_folder,
    find_davis585_root,
    labels_to_masks,
    load_real_pairs,
    masks_to_labels,
    prepare_voc_trainaug,
    select_coco_subset,
    voc_palette,
    write_coco_subset,
    write_label_png,
)
from samrefiner_lib.datasets.readers import read_label_map
from samrefiner_lib.datasets.real import EXPECTED_COUNTS
from samrefiner_lib.datasets.registry import REGISTRY


def _rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def _save(arr: np.ndarray, path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, **kw)
    return path


def _box(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


# --------------------------------------------------------------------------- Sample


def test_sample_checks_shapes_and_names_the_sample():
    img = np.zeros((4, 5, 3), np.uint8)
    s = Sample(img, np.zeros((2, 4, 5), bool), None, None, "ok")
    assert s.shape == (4, 5) and s.height == 4 and s.width == 5
    with pytest.raises(SampleError, match="'bad'.*4x5"):
        Sample(img, np.zeros((1, 3, 5), bool), None, None, "bad")
    with pytest.raises(SampleError, match="bool"):
        Sample(img, np.zeros((1, 4, 5), np.uint8), None, None, "bad")
    with pytest.raises(SampleError, match="ignore"):
        Sample(img, None, None, np.zeros((4, 4), bool), "bad")
    with pytest.raises(SampleError, match="pairing"):
        Sample(img, np.zeros((2, 4, 5), bool), np.zeros((1, 4, 5), bool), None, "bad",
               {"pairing": "index"})  # fmt: skip


# --------------------------------------------------------------------------- DAVIS-585


def _davis585(root: Path) -> Path:
    h, w = 24, 32
    for seq, frames in (("bear", ("00000", "00005")), ("car", ("00010",))):
        for k, frame in enumerate(frames):
            _save(_rgb(h, w, k), root / seq / f"{frame}.jpg", quality=95)
            gt = np.where(_box(h, w, 4, 20, 4, 20), 200, 100).astype(np.uint8)  # > 128 rule
            _save(gt, root / seq / f"object1_{frame}.png")
            _save(np.where(_box(h, w, 5, 18, 5, 22), 255, 0).astype(np.uint8),
                  root / seq / f"init_sp_object1_{frame}.png")  # fmt: skip
            _save(np.where(_box(h, w, 0, 10, 0, 10), 255, 0).astype(np.uint8),
                  root / seq / f"init_stm_object1_{frame}.png")  # fmt: skip
    return root


def test_davis585_layout_and_init_masks(tmp_path):
    root = _davis585(tmp_path / "DAVIS585" / "data")
    assert find_davis585_root(tmp_path) == root
    ds = Davis585(root, init="sp")
    assert len(ds) == 3
    s = ds[0]
    assert s.name == "bear/object1_00000" and s.image.shape == (24, 32, 3)
    assert s.gt.shape == (1, 24, 32) and s.gt.sum() == 16 * 16
    assert np.array_equal(s.coarse[0], _box(24, 32, 5, 18, 5, 22))
    assert s.meta["pairing"] == "index" and s.ignore is None
    assert np.array_equal(Davis585(root, init="stm")[0].coarse[0], _box(24, 32, 0, 10, 0, 10))
    assert Davis585(root, init=None)[2].coarse is None
    (root / "car" / "init_sp_object1_00010.png").unlink()
    with pytest.raises(DatasetError, match="init_sp_object1_00010.png"):
        Davis585(root, init="sp")
    with pytest.raises(DatasetError, match="no DAVIS-585 data"):
        find_davis585_root(tmp_path / "DAVIS585" / "data" / "bear" / "nothing-here")


# --------------------------------------------------------------------------- COCO


def _rle(mask: np.ndarray) -> dict:
    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": r["size"], "counts": r["counts"].decode("ascii")}


def _uncompressed_rle(mask: np.ndarray) -> dict:
    flat = mask.astype(np.uint8).flatten(order="F")
    counts, current, run = [], 0, 0
    for v in flat:
        if v != current:
            counts.append(run)
            current, run = v, 0
        run += 1
    counts.append(run)
    return {"size": list(mask.shape), "counts": counts}


@pytest.fixture()
def coco_files(tmp_path):
    h, w = 30, 40
    images = tmp_path / "val2017"
    _save(_rgb(h, w, 1), images / "000000000001.png")
    _save(_rgb(h, w, 2), images / "000000000002.png")
    square = [[5.0, 5.0, 15.0, 5.0, 15.0, 15.0, 5.0, 15.0]]  # x,y polygon: 10x10 square
    rle_mask = _box(h, w, 20, 28, 20, 38)
    crowd = _box(h, w, 0, 4, 30, 40)
    ann = {
        "images": [
            {"id": 1, "file_name": "000000000001.png", "height": h, "width": w},
            {"id": 2, "file_name": "000000000002.png", "height": h, "width": w},
        ],
        "categories": [{"id": 1, "name": "thing"}, {"id": 7, "name": "other"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "segmentation": square, "iscrowd": 0,
             "area": 100.0, "bbox": [5, 5, 10, 10]},
            {"id": 11, "image_id": 1, "category_id": 7, "segmentation": _rle(rle_mask),
             "iscrowd": 0, "area": float(rle_mask.sum()), "bbox": [20, 20, 18, 8]},
            {"id": 12, "image_id": 1, "category_id": 1, "segmentation": _uncompressed_rle(crowd),
             "iscrowd": 1, "area": float(crowd.sum()), "bbox": [30, 0, 10, 4]},
        ],
    }  # fmt: skip
    ann_path = tmp_path / "instances.json"
    ann_path.write_text(json.dumps(ann))
    dets = [
        {"image_id": 1, "category_id": 7, "segmentation": _rle(_box(h, w, 19, 29, 18, 39)),
         "score": 0.9},
        {"image_id": 1, "category_id": 1, "segmentation": square, "score": 0.2},
    ]  # fmt: skip
    det_path = tmp_path / "dets.json"
    det_path.write_text(json.dumps(dets))
    return {"ann": ann_path, "images": images, "dets": det_path, "rle_mask": rle_mask,
            "crowd": crowd, "raw": ann}  # fmt: skip


def test_coco_polygons_rle_and_crowd(coco_files):
    ds = CocoInstances(coco_files["ann"], coco_files["images"])
    assert len(ds) == 2 and ds.categories == {1: "thing", 7: "other"}
    s = ds.get(1)
    assert s.gt.shape == (2, 30, 40) and s.meta["gt_ids"] == [10, 11]
    assert s.meta["gt_labels"] == [1, 7] and s.coarse is None
    assert abs(int(s.gt[0].sum()) - 100) <= 25  # rasterised 10x10 polygon
    assert s.gt[0, 10, 10] and not s.gt[0, 20, 20]
    assert np.array_equal(s.gt[1], coco_files["rle_mask"])  # compressed RLE is exact
    assert np.array_equal(s.ignore, coco_files["crowd"])  # uncompressed crowd RLE -> ignore
    empty = ds.get(2)
    assert empty.gt.shape == (0, 30, 40) and empty.ignore is None
    assert CocoInstances(coco_files["ann"], coco_files["images"], crowd="gt")[0].gt.shape[0] == 3
    assert CocoInstances(coco_files["ann"], coco_files["images"], crowd="drop")[0].ignore is None


def test_coco_detections_are_matched_to_images(coco_files, tmp_path):
    ds = CocoInstances(coco_files["ann"], coco_files["images"], coco_files["dets"])
    s = ds.get(1)
    assert s.coarse.shape == (2, 30, 40)
    assert s.meta["coarse_labels"] == [7, 1] and s.meta["coarse_scores"] == [0.9, 0.2]
    assert np.array_equal(s.coarse[0], _box(30, 40, 19, 29, 18, 39))
    assert s.meta["pairing"] == "none"
    assert ds.get(2).coarse.shape == (0, 30, 40)  # no detections on image 2
    strict = CocoInstances(coco_files["ann"], coco_files["images"], coco_files["dets"],
                           min_score=0.5)  # fmt: skip
    assert strict.get(1).meta["coarse_index"] == [0]
    stray = tmp_path / "stray.json"
    stray.write_text(json.dumps([{"image_id": 99, "category_id": 1,
                                  "segmentation": _rle(_box(30, 40, 0, 2, 0, 2))}]))  # fmt: skip
    with pytest.raises(DatasetError, match="99"):
        CocoInstances(coco_files["ann"], coco_files["images"], stray)
    assert CocoInstances(coco_files["ann"], coco_files["images"], stray, strict=False)
    boxes_only = tmp_path / "boxes.json"
    boxes_only.write_text(json.dumps([{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]))
    with pytest.raises(DatasetError, match="segmentation"):
        CocoInstances(coco_files["ann"], coco_files["images"], boxes_only)


def test_coco_errors_name_the_file(coco_files, tmp_path):
    raw = coco_files["raw"]
    raw["images"][0]["height"] = 31
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw))
    with pytest.raises(DatasetError, match="000000000001.png.*31x40"):
        CocoInstances(bad, coco_files["images"]).get(1)
    with pytest.raises(DatasetError, match="not valid JSON"):
        (tmp_path / "broken.json").write_text("{")
        CocoInstances(tmp_path / "broken.json", coco_files["images"])


def test_coco_subset_is_seeded_and_written(coco_files, tmp_path):
    data = coco_files["raw"]
    data["images"] += [{"id": i, "file_name": f"{i}.jpg", "height": 1, "width": 1}
                       for i in range(100, 140)]  # fmt: skip
    data["annotations"] += [
        {
            "id": 1000 + i,
            "image_id": i,
            "category_id": 1,
            "iscrowd": 0,
            "segmentation": [[0, 0, 1, 0, 1, 1]],
        }
        for i in range(100, 140, 2)
    ]
    first = select_coco_subset(data, count=10, seed=3)
    assert first == select_coco_subset(data, count=10, seed=3) == sorted(first)
    assert first != select_coco_subset(data, count=10, seed=4)
    assert all(i == 1 or i % 2 == 0 for i in first)  # only images with non-crowd instances
    with pytest.raises(DatasetError, match="qualify"):
        select_coco_subset(data, count=1000)
    out = write_coco_subset(data, first, tmp_path / "sub.json", note="seed 3")
    sub = json.loads(out.read_text())
    assert sorted(im["id"] for im in sub["images"]) == first
    assert {a["image_id"] for a in sub["annotations"]} <= set(first)
    assert sub["info"]["subset"] == "seed 3" and sub["categories"] == data["categories"]


def test_lvis_style_images_resolve_through_coco_url(coco_files, tmp_path):
    raw = coco_files["raw"]
    for im in raw["images"]:
        im["coco_url"] = f"http://images.cocodataset.org/val2017/{im.pop('file_name')}"
    lvis = tmp_path / "lvis.json"
    lvis.write_text(json.dumps(raw))
    ds = CocoInstances(lvis, tmp_path)  # root holding val2017/
    assert ds.image_path(1) == coco_files["images"] / "000000000001.png"
    assert ds.get(1).image.shape == (30, 40, 3)


def test_cocofy_lvis_keeps_coco_categories_and_val_images():
    lvis = {
        "images": [
            {"id": 1, "coco_url": "http://x/val2017/1.jpg", "neg_category_ids": [3, 5],
             "not_exhaustive_category_ids": [4]},
            {"id": 2, "coco_url": "http://x/train2017/2.jpg", "neg_category_ids": [],
             "not_exhaustive_category_ids": []},
        ],
        "categories": [{"id": 3, "synset": "person.n.01", "name": "person"},
                       {"id": 4, "synset": "aardvark.n.01", "name": "aardvark"},
                       {"id": 5, "synset": "dog.n.01", "name": "dog"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 3},
                        {"id": 2, "image_id": 1, "category_id": 4},
                        {"id": 3, "image_id": 2, "category_id": 5}],
    }  # fmt: skip
    synsets = {"person": {"coco_cat_id": 1, "synset": "person.n.01"},
               "dog": {"coco_cat_id": 18, "synset": "dog.n.01"}}  # fmt: skip
    out = cocofy_lvis(lvis, synsets)
    assert [im["id"] for im in out["images"]] == [1]
    assert out["images"][0]["neg_category_ids"] == [1, 18]
    assert out["images"][0]["not_exhaustive_category_ids"] == []
    assert out["annotations"] == [{"id": 1, "image_id": 1, "category_id": 1}]
    assert [(c["id"], c["coco_name"]) for c in out["categories"]] == [(1, "person"), (18, "dog")]
    assert len(cocofy_lvis(lvis, synsets, coco_val_only=False)["annotations"]) == 2
    assert lvis["annotations"][0]["category_id"] == 3  # input untouched


# --------------------------------------------------------------------------- VOC


def test_palette_png_round_trip(tmp_path):
    labels = np.zeros((20, 30), np.uint8)
    labels[2:10, 3:12] = 15
    labels[12:18, 5:25] = 5
    labels[9:13, :] = 255
    path = write_label_png(labels, tmp_path / "out" / "x.png")
    img = Image.open(path)
    assert img.mode == "P" and img.getpalette()[3 * 15 : 3 * 16] == [192, 128, 128]
    assert np.array_equal(read_label_map(path), labels)
    assert voc_palette()[1].tolist() == [128, 0, 0] and voc_palette()[255].tolist() == [
        224,
        224,
        192,
    ]
    masks, ids, ignore = labels_to_masks(labels)
    assert ids == [5, 15] and masks.shape == (2, 20, 30) and ignore.sum() == 4 * 30
    assert np.array_equal(masks_to_labels(masks, ids, ignore), labels)
    with pytest.raises(DatasetError, match="mode 'RGB'"):
        read_label_map(_save(_rgb(4, 4), tmp_path / "rgb.png"))


def _voc_root(root: Path) -> Path:
    voc = root / "VOCdevkit" / "VOC2012"
    h, w = 16, 20
    for i, name in enumerate(("2007_000001", "2007_000002", "2008_000003")):
        _save(_rgb(h, w, i), voc / "JPEGImages" / f"{name}.jpg")
    lab = np.zeros((h, w), np.uint8)
    lab[2:8, 2:8] = 1
    lab[8, :] = 255
    lab[10:14, 10:18] = 20
    write_label_png(lab, voc / "SegmentationClass" / "2007_000001.png")
    write_label_png(np.zeros((h, w), np.uint8), voc / "SegmentationClass" / "2007_000002.png")
    sets = voc / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True)
    (sets / "train.txt").write_text("2007_000002\n")
    (sets / "val.txt").write_text("2007_000001\n")
    return voc


def test_voc_semantic_loader_with_coarse(tmp_path):
    voc = _voc_root(tmp_path)
    coarse = np.zeros((16, 20), np.uint8)
    coarse[3:7, 3:9] = 1
    coarse[0:2, 0:2] = 7
    write_label_png(coarse, tmp_path / "pseudo" / "2007_000001.png")
    ds = VocSemantic(tmp_path, "val", coarse_dir=tmp_path / "pseudo")
    assert ds.root == voc and len(ds) == 1
    s = ds[0]
    assert s.meta["gt_labels"] == [1, 20] and s.gt.shape == (2, 16, 20)
    assert s.ignore[8].all() and s.ignore.sum() == 20
    assert s.meta["coarse_labels"] == [1, 7] and s.meta["pairing"] == "label"
    assert np.array_equal(s.coarse[0], coarse == 1)
    assert VocSemantic(voc, ["2007_000002"])[0].gt.shape == (0, 16, 20)
    assert VocSemantic(voc, "val", include_background=True)[0].meta["gt_labels"] == [0, 1, 20]


def test_sbd_trainaug_preparation(tmp_path):
    from scipy.io import savemat

    voc = _voc_root(tmp_path)
    sbd = tmp_path / "benchmark_RELEASE" / "dataset"
    (sbd / "cls").mkdir(parents=True)
    seg = np.zeros((16, 20), np.uint8)
    seg[4:12, 4:12] = 12
    savemat(sbd / "cls" / "2008_000003.mat", {"GTcls": {"Segmentation": seg}})
    (sbd / "train.txt").write_text("2008_000003\n2007_000001\n")  # VOC val id must be dropped
    (sbd / "val.txt").write_text("")
    counts = prepare_voc_trainaug(voc, sbd, progress=False)
    assert counts == {"trainaug": 2, "val": 1, "from_voc": 2, "from_sbd": 1}
    ids = (voc / "ImageSets/Segmentation/trainaug.txt").read_text().split()
    assert ids == ["2007_000002", "2008_000003"]
    assert np.array_equal(read_label_map(voc / "SegmentationClassAug" / "2008_000003.png"), seg)
    ds = VocSemantic(voc, "trainaug", label_dir="SegmentationClassAug")
    assert ds[1].meta["gt_labels"] == [12]


# --------------------------------------------------------------------------- interactive sets


def test_grabcut_band_is_ignored(tmp_path):
    root = tmp_path / "GrabCut"
    mask = np.zeros((12, 14), np.uint8)
    mask[3:9, 3:9] = 255
    mask[2, 2:10] = 128
    _save(_rgb(12, 14), root / "data_GT" / "a.jpg")
    _save(mask, root / "boundary_GT" / "a.bmp")
    _save(_rgb(12, 14, 1), root / "data_GT" / "b.bmp")
    _save(np.where(mask == 255, 255, 0).astype(np.uint8), root / "boundary_GT" / "b.bmp")
    ds = InteractiveFolder(root, "grabcut")
    a, b = ds[0], ds[1]
    assert a.name == "a" and a.gt[0].sum() == 36 and a.ignore.sum() == 8
    assert not (a.gt[0] & a.ignore).any()
    assert b.ignore is None and b.coarse is None
    _save(_rgb(12, 14), root / "data_GT" / "orphan.jpg")
    with pytest.raises(DatasetError, match="orphan"):
        InteractiveFolder(root, "grabcut")


def test_berkeley_davis_and_mval_layouts(tmp_path):
    m = _box(10, 12, 2, 8, 2, 8)
    _save(_rgb(10, 12), tmp_path / "Berkeley" / "images" / "101.jpg")
    _save(np.where(m, 255, 0).astype(np.uint8), tmp_path / "Berkeley" / "masks" / "101.png")
    rgb_mask = np.zeros((10, 12, 3), np.uint8)
    rgb_mask[m, 2] = 40  # only the blue channel set: "any channel > 0"
    _save(_rgb(10, 12), tmp_path / "x" / "DAVIS" / "img" / "bear.jpg")
    _save(rgb_mask, tmp_path / "x" / "DAVIS" / "gt" / "bear.png")
    _save(_rgb(10, 12), tmp_path / "MVal" / "img" / "baseball bat00_000000057232.jpg")
    _save(np.where(m, 200, 100).astype(np.uint8),
          tmp_path / "MVal" / "gt" / "baseball bat00_000000057232.png")  # fmt: skip
    assert np.array_equal(InteractiveFolder(tmp_path / "Berkeley", "berkeley")[0].gt[0], m)
    davis_root = find_dataset_folder(tmp_path / "x", "davis345")
    assert davis_root == tmp_path / "x" / "DAVIS"
    assert np.array_equal(InteractiveFolder(davis_root, "davis345")[0].gt[0], m)
    mval = InteractiveFolder(tmp_path / "MVal", "coco_mval")[0]
    assert mval.name == "baseball bat00_000000057232" and np.array_equal(mval.gt[0], m)
    with pytest.raises(DatasetError, match="expected folder"):
        InteractiveFolder(tmp_path / "MVal", "grabcut")


# --------------------------------------------------------------------------- preparation


@pytest.fixture()
def file_server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_prepare_interactive_downloads_and_checks(file_server, tmp_path, monkeypatch):
    from samrefiner_lib.datasets.prepare import prepare_interactive

    served, url = file_server
    with zipfile.ZipFile(served / "GrabCut.zip", "w") as zf:
        for name in ("p", "q"):
            zf.writestr(f"GrabCut/data_GT/{name}.jpg", _jpeg_bytes())
            zf.writestr(f"GrabCut/boundary_GT/{name}.bmp", _bmp_mask_bytes())
    spec = dataclasses.replace(REGISTRY["grabcut"], urls=(f"{url}/GrabCut.zip",))
    monkeypatch.setitem(REGISTRY, "grabcut", spec)
    root = tmp_path / "data"
    summary = prepare_interactive("grabcut", root, progress=False, retries=0)
    assert summary["data_root"] == str(root / "GrabCut") and summary["grabcut_count"] == 2
    assert "50" in summary["warnings"][0]  # the official release has 50


def test_prepare_davis585_uses_the_archive_placed_by_hand(tmp_path):
    from samrefiner_lib.datasets.prepare import prepare_davis585

    root = tmp_path / "data"
    with pytest.raises(ManualDownloadRequired, match="drive.google.com") as err:
        prepare_davis585(root, progress=False)
    assert str(root / "DAVIS585.zip") in str(err.value)
    src = _davis585(tmp_path / "src" / "DAVIS585" / "data")
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(src.rglob("*.*")):
            zf.write(p, p.relative_to(tmp_path / "src").as_posix())
    summary = prepare_davis585(root, archive=archive, progress=False)
    assert summary["data_root"].endswith("DAVIS585/data") and summary["davis585_count"] == 3


def _jpeg_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(_rgb(6, 7)).save(buf, format="JPEG")
    return buf.getvalue()


def _bmp_mask_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(np.where(_box(6, 7, 1, 5, 1, 5), 255, 0).astype(np.uint8)).save(buf, "BMP")
    return buf.getvalue()


# --------------------------------------------------------------------------- real data


def test_missing_real_data_returns_none_with_a_message(tmp_path):
    with pytest.warns(RealDataMissingWarning, match="not found"):
        assert load_real_pairs(tmp_path / "absent") is None


def test_real_shared_data_counts_and_shapes():
    root = default_real_root()
    if root is None or not root.is_dir():
        pytest.skip("shared real data (../shared/data/real or $SAMREFINER_REAL_DATA) is absent")
    pairs = load_real_pairs(root)
    assert pairs is not None
    assert (
        pairs.counts()
        == EXPECTED_COUNTS
        == {
            "GrabCut": 50,
            "COCO_MVal_subset80": 80,
            "WeizmannHorses": 327,
        }
    )
    assert len(pairs) == 457
    starts = {"GrabCut": 0, "COCO_MVal_subset80": 50, "WeizmannHorses": 130}
    for subset, i in starts.items():
        for s in (pairs[i], pairs[i + 1]):
            assert s.meta["subset"] == subset and s.name.startswith(subset + "/")
            assert s.image.dtype == np.uint8 and s.image.shape[2] == 3
            assert s.gt.shape == (1, *s.image.shape[:2])
            assert 0.0 < s.gt.mean() < 1.0
    tennis = [i for i in range(50) if pairs.subsets["GrabCut"].pairs[i][0] == "tennis"][0]
    s = pairs[tennis]
    assert s.ignore is not None and s.ignore.any() and not (s.ignore & s.gt[0]).any()
    spaced = [p for p in pairs.subsets["COCO_MVal_subset80"].pairs if " " in p[0]]
    assert spaced, "COCO MVal names with spaces are paired"


def test_prepare_coco_train5k_per_image_download(file_server, tmp_path, monkeypatch):
    from samrefiner_lib.datasets.download import ChecksumError
    from samrefiner_lib.datasets.prepare import prepare_coco_train5k

    served, url = file_server
    images, anns = [], []
    for i in range(1, 7):
        name = f"{i:012d}.jpg"
        images.append({"id": i, "file_name": name, "height": 8, "width": 9,
                       "coco_url": f"{url}/train2017/{name}"})  # fmt: skip
        _save(_rgb(8, 9, i), served / "train2017" / name)
        if i <= 4:  # images 5 and 6 have no instance and can never be chosen
            anns.append({"id": 100 + i, "image_id": i, "category_id": 1, "iscrowd": 0,
                         "segmentation": [[0, 0, 4, 0, 4, 4]]})  # fmt: skip
    data = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "a"}]}
    with zipfile.ZipFile(served / "ann.zip", "w") as zf:
        zf.writestr("annotations/instances_train2017.json", json.dumps(data))
    import hashlib

    digest = hashlib.sha256((served / "ann.zip").read_bytes()).hexdigest()
    spec = dataclasses.replace(
        REGISTRY["coco2017_annotations"], urls=(f"{url}/ann.zip",), checksum=f"sha256:{digest}",
        size=None,
    )  # fmt: skip
    monkeypatch.setitem(REGISTRY, "coco2017_annotations", spec)
    _save(_rgb(5, 5), served / "train2017" / "000000000003.jpg")  # wrong size on the server
    root = tmp_path / "data"
    opts = {"count": 4, "seed": 1, "workers": 2, "progress": False, "retries": 0}
    with pytest.raises(ChecksumError, match="5x5.*9x8"):
        prepare_coco_train5k(root, **opts)
    assert not (root / "coco" / "train2017" / "000000000003.jpg").exists()
    _save(_rgb(8, 9, 3), served / "train2017" / "000000000003.jpg")  # fixed upstream
    summary = prepare_coco_train5k(root, **opts)
    assert summary["image_count"] == 4 and summary["instance_count"] == 4
    assert sorted(p.name for p in (root / "coco" / "train2017").glob("*.jpg")) == [
        f"{i:012d}.jpg" for i in range(1, 5)
    ]
    sub = json.loads(Path(summary["annotations"]).read_text())
    assert sorted(im["id"] for im in sub["images"]) == [1, 2, 3, 4]
    assert Path(summary["image_ids"]).read_text().split() == ["1", "2", "3", "4"]
