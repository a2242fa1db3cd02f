"""Download-and-prepare steps for each dataset, as called by ``data_scripts/get_<name>.py``.

Every function takes the data root (one folder for all datasets, sharing one checksum lock
file), downloads what is missing through :func:`download.fetch`, runs the dataset's preparation
(list building, label conversion, subset selection), checks the result against the expected
counts, and returns a summary dict (paths as strings, counts as ints) that the scripts print.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .coco import select_coco_subset, write_coco_subset
from .davis585 import find_davis585_root, scan_davis585
from .download import ChecksumError, download_file, extract_zip_members, fetch
from .interactive import LAYOUTS, InteractiveFolder, find_dataset_folder
from .lvis import cocofy_lvis, write_json
from .readers import open_image
from .registry import REGISTRY
from .sample import DatasetError
from .voc import find_voc_root, prepare_voc_trainaug, read_id_list

EXPECTED_COUNTS = {
    "davis585": 585,
    "coco_val_images": 5000,
    "voc_val": 1449,
    "voc_trainaug": 10582,
    "grabcut": 50,
    "berkeley": 100,
    "davis345": 345,
    "coco_mval": 800,
}
"""Sample counts of the official releases; a mismatch is reported, not fatal."""


def _fetch_kwargs(opts: dict[str, Any]) -> dict[str, Any]:
    keys = ("progress", "retries", "backoff", "timeout")
    return {k: opts[k] for k in keys if k in opts}


def _count_note(summary: dict[str, Any], key: str, found: int) -> None:
    summary[f"{key}_count"] = found
    expected = EXPECTED_COUNTS.get(key)
    if expected is not None and found != expected:
        summary.setdefault("warnings", []).append(
            f"{key}: found {found}, the official release has {expected}"
        )


def prepare_davis585(
    root: str | os.PathLike,
    archive: str | os.PathLike | None = None,
    folder: str | os.PathLike | None = None,
    **opts: Any,
) -> dict[str, Any]:
    """DAVIS-585: verify and extract the archive downloaded by hand, then locate the data.

    The ClickSEG release is a shared Google Drive folder, which a program cannot download; the
    first run raises :class:`ManualDownloadRequired` with the page and the path to save the
    archive at.

    Arguments:
      root: data root.
      archive: the archive the user downloaded, copied to ``root/DAVIS585.zip`` first.
      folder: an already-extracted DAVIS-585 copy to use as is (no checksum possible).
      **opts: ``progress``, ``retries``, ``backoff``, ``timeout`` for :func:`fetch`.

    Returns:
      dict: ``data_root`` (pass it to :class:`Davis585`) and the sample count.
    """
    root = Path(root)
    summary: dict[str, Any] = {"dataset": "DAVIS-585"}
    if folder is not None:
        data_root = find_davis585_root(folder)
    else:
        spec = REGISTRY["davis585"]
        if archive is not None:
            target = root / spec.filename
            root.mkdir(parents=True, exist_ok=True)
            if Path(archive).resolve() != target.resolve():
                shutil.copyfile(archive, target)
        extracted = fetch(spec, root, **_fetch_kwargs(opts))
        data_root = find_davis585_root(extracted)
    summary["data_root"] = str(data_root)
    _count_note(summary, "davis585", len(scan_davis585(data_root)))
    return summary


def prepare_coco_val(root: str | os.PathLike, images: bool = True, **opts: Any) -> dict[str, Any]:
    """COCO 2017 val: instance annotations and (optionally) the 5,000 images.

    Arguments:
      root: data root; files end up in ``root/coco``.
      images: also download ``val2017.zip``.
      **opts: options for :func:`fetch`.

    Returns:
      dict: annotation and image paths, image count.
    """
    root = Path(root)
    coco = fetch("coco2017_annotations", root, **_fetch_kwargs(opts))
    summary: dict[str, Any] = {
        "dataset": "COCO 2017 val",
        "annotations": str(coco / "annotations" / "instances_val2017.json"),
    }
    if images:
        fetch("coco2017_val_images", root, **_fetch_kwargs(opts))
        image_dir = root / "coco" / "val2017"
        summary["images"] = str(image_dir)
        _count_note(summary, "coco_val_images", sum(1 for _ in image_dir.glob("*.jpg")))
    return summary


def _image_size_check(width: int, height: int) -> Callable[[Path, str], None]:
    """A download check: the file must decode as an image of exactly ``width`` x ``height``."""

    def check(path: Path, url: str) -> None:
        try:
            img = open_image(path)
        except DatasetError as exc:
            raise ChecksumError(f"{path.name} from {url} is not a readable image ({exc})") from exc
        if img.size != (width, height):
            raise ChecksumError(
                f"{path.name} from {url} is {img.width}x{img.height}, the COCO annotations say "
                f"{width}x{height} (WxH)"
            )

    return check


def prepare_coco_train5k(
    root: str | os.PathLike,
    count: int = 5000,
    seed: int = 0,
    use_zip: bool = False,
    workers: int = 8,
    **opts: Any,
) -> dict[str, Any]:
    """COCO "train5K": a seeded random subset of train2017 images and their annotations.

    The paper times refinement on "COCO train5K" (about 37K masks) without publishing the image
    list; this builds a reproducible stand-in: :func:`select_coco_subset` (images with at least
    one non-crowd instance, ``random.Random(seed).sample``). 5,000 random train2017 images hold
    about 36.5K instances, consistent with the paper's count. Images are fetched one by one
    from their ``coco_url`` (each checked to decode at the annotated size), or with
    ``use_zip`` extracted from the 18 GB ``train2017.zip`` (published MD5).

    Arguments:
      root: data root; files end up in ``root/coco``.
      count: number of images.
      seed: selection seed.
      use_zip: take the images from ``train2017.zip`` instead of per-image downloads.
      workers: parallel per-image downloads.
      **opts: options for :func:`fetch`.

    Returns:
      dict: subset annotation path, id list path, image folder, image and instance counts.
    """
    root = Path(root)
    coco = fetch("coco2017_annotations", root, **_fetch_kwargs(opts))
    ann_path = coco / "annotations" / "instances_train2017.json"
    data = json.loads(ann_path.read_text(encoding="utf-8"))
    ids = select_coco_subset(data, count=count, seed=seed)
    tag = f"train{count // 1000}k_seed{seed}" if count % 1000 == 0 else f"train{count}_seed{seed}"
    note = (
        f"{count} images of instances_train2017.json with >= 1 non-crowd instance, chosen by "
        f"random.Random({seed}).sample over the sorted ids (samrefiner_lib select_coco_subset)"
    )
    subset_path = write_coco_subset(data, ids, coco / "annotations" / f"instances_{tag}.json", note)
    ids_path = coco / f"{tag}_image_ids.txt"
    ids_path.write_text("\n".join(str(i) for i in ids) + "\n")
    keep = set(ids)
    images = [im for im in data["images"] if int(im["id"]) in keep]
    n_inst = sum(
        1 for a in data["annotations"] if int(a["image_id"]) in keep and not a.get("iscrowd", 0)
    )
    del data
    image_dir = root / "coco" / "train2017"
    progress = opts.get("progress", True)
    if use_zip:
        zip_path = fetch("coco2017_train_images", root, extract=False, **_fetch_kwargs(opts))
        extract_zip_members(
            zip_path, root / "coco", [f"train2017/{im['file_name']}" for im in images], progress
        )
    else:
        todo = [im for im in images if not (image_dir / im["file_name"]).is_file()]

        def get(im: dict) -> None:
            download_file(
                im["coco_url"],
                image_dir / im["file_name"],
                verify=_image_size_check(int(im["width"]), int(im["height"])),
                progress=False,
                retries=opts.get("retries", 3),
                backoff=opts.get("backoff", 1.0),
                timeout=opts.get("timeout", 60.0),
            )

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(get, im) for im in todo]
            for fut in tqdm(
                as_completed(futures),
                total=len(futures),
                desc="train5K images",
                unit="img",
                disable=not progress,
            ):
                fut.result()
    return {
        "dataset": f"COCO {tag}",
        "annotations": str(subset_path),
        "image_ids": str(ids_path),
        "images": str(image_dir),
        "image_count": len(ids),
        "instance_count": n_inst,
        "selection": note,
    }


def prepare_lvis_cocofied(
    root: str | os.PathLike, coco_val_only: bool = True, **opts: Any
) -> dict[str, Any]:
    """LVIS v1 val "cocofied": LVIS masks of the 80 COCO categories on COCO val2017 images.

    Arguments:
      root: data root; output ``root/lvis/lvis_v1_val_cocofied.json``.
      coco_val_only: keep only COCO val2017 images (the usual evaluation set).
      **opts: options for :func:`fetch`.

    Returns:
      dict: output path, image / annotation / category counts.
    """
    root = Path(root)
    lvis_dir = fetch("lvis_v1_val", root, **_fetch_kwargs(opts))
    synsets = fetch("lvis_coco_to_synset", root, **_fetch_kwargs(opts))
    src = lvis_dir / "lvis_v1_val.json"
    if not src.is_file():
        raise DatasetError(f"expected {src} inside lvis_v1_val.json.zip")
    out = cocofy_lvis(src, synsets, coco_val_only=coco_val_only)
    name = "lvis_v1_val_cocofied.json" if coco_val_only else "lvis_v1_val_all_cocofied.json"
    path = write_json(out, lvis_dir / name)
    return {
        "dataset": "LVIS v1 val cocofied",
        "annotations": str(path),
        "images": len(out["images"]),
        "instances": len(out["annotations"]),
        "categories": len(out["categories"]),
        "image_root": str(root / "coco"),
    }


def prepare_voc(root: str | os.PathLike, sbd: bool = False, **opts: Any) -> dict[str, Any]:
    """PASCAL VOC 2012 segmentation, optionally with the SBD "trainaug" labels.

    Arguments:
      root: data root; VOC ends up in ``root/voc/VOCdevkit/VOC2012``.
      sbd: also download SBD and build ``SegmentationClassAug`` + ``trainaug.txt``.
      **opts: options for :func:`fetch` (and ``progress``).

    Returns:
      dict: VOC root and split sizes.
    """
    root = Path(root)
    voc = find_voc_root(fetch("voc2012_trainval", root, **_fetch_kwargs(opts)))
    summary: dict[str, Any] = {"dataset": "PASCAL VOC 2012", "voc_root": str(voc)}
    _count_note(summary, "voc_val", len(read_id_list(voc / "ImageSets/Segmentation/val.txt")))
    if sbd:
        sbd_dir = fetch("sbd_benchmark", root, **_fetch_kwargs(opts)) / "benchmark_RELEASE"
        noval = fetch("sbd_train_noval", root, **_fetch_kwargs(opts))
        shutil.copyfile(noval, voc / "ImageSets" / "Segmentation" / "train_noval.txt")
        counts = prepare_voc_trainaug(voc, sbd_dir / "dataset", progress=opts.get("progress", True))
        _count_note(summary, "voc_trainaug", counts["trainaug"])
        summary["label_dir"] = str(voc / "SegmentationClassAug")
        summary["from_sbd"] = counts["from_sbd"]
    return summary


def prepare_interactive(name: str, root: str | os.PathLike, **opts: Any) -> dict[str, Any]:
    """GrabCut, Berkeley, DAVIS-345 or COCO MVal from the f-BRS / RITM release.

    Arguments:
      name: ``"grabcut"``, ``"berkeley"``, ``"davis345"`` or ``"coco_mval"``.
      root: data root.
      **opts: options for :func:`fetch`.

    Returns:
      dict: dataset folder and pair count.
    """
    if name not in LAYOUTS:
        raise KeyError(f"unknown interactive dataset {name!r}; known: {sorted(LAYOUTS)}")
    extracted = fetch(name, root, **_fetch_kwargs(opts))
    folder = find_dataset_folder(extracted, name)
    summary: dict[str, Any] = {"dataset": name, "data_root": str(folder)}
    _count_note(summary, name, len(InteractiveFolder(folder, name)))
    return summary
