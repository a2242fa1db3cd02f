"""PASCAL VOC-style semantic label maps: palette PNG I/O, a loader, and SBD augmentation.

A VOC label PNG is a palette ("P" mode) image whose *indices* are class ids (0 = background,
1..20 = classes, 255 = "void", the unlabelled band around objects that every metric ignores);
the palette only makes it viewable. :func:`write_label_png` writes the same format, so refined
outputs open in the usual tools and read back as the same indices.

Preparation (used by ``data_scripts/get_voc.py``): :func:`prepare_voc_trainaug` merges the SBD
annotations (``cls/*.mat``) with VOC 2012 into ``SegmentationClassAug/`` and writes the standard
10,582-image ``trainaug.txt`` list.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from .readers import read_label_map, read_rgb
from .sample import DatasetError, Sample

IGNORE_INDEX = 255
VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip


def voc_palette(n: int = 256) -> np.ndarray:
    """The VOC colour map: class index bits spread over the high bits of R, G and B.

    Arguments:
      n: number of entries.

    Returns:
      np.ndarray: nx3 uint8 RGB colours (index 0 black, 1 dark red, ..., 255 light grey-beige).
    """
    pal = np.zeros((n, 3), dtype=np.uint8)
    for index in range(n):
        c = index
        rgb = [0, 0, 0]
        for bit in range(8):
            for ch in range(3):
                rgb[ch] |= ((c >> ch) & 1) << (7 - bit)
            c >>= 3
        pal[index] = rgb
    return pal


def write_label_png(labels: np.ndarray, path: str | os.PathLike) -> Path:
    """Write an HxW class-index map as a VOC palette PNG (atomically).

    Arguments:
      labels: HxW integer array with values in 0..255 (255 = ignore).
      path: destination ``.png``.

    Returns:
      Path: ``path``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be HxW, got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise ValueError("labels must lie in 0..255 to fit a palette PNG")
    img = Image.fromarray(labels.astype(np.uint8), mode="P")
    img.putpalette(voc_palette().reshape(-1).tolist())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    img.save(tmp, format="PNG")
    os.replace(tmp, path)
    return path


def labels_to_masks(
    labels: np.ndarray, include_background: bool = False, ignore_index: int = IGNORE_INDEX
) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Split a label map into one binary mask per class present.

    Arguments:
      labels: HxW class indices.
      include_background: also return a mask for class 0.
      ignore_index: value marking ignored pixels.

    Returns:
      tuple: (NxHxW bool masks, the N class ids in increasing order, HxW bool ignore).
    """
    present = [int(c) for c in np.unique(labels) if c != ignore_index]
    if not include_background:
        present = [c for c in present if c != 0]
    h, w = labels.shape
    masks = np.zeros((len(present), h, w), dtype=bool)
    for i, c in enumerate(present):
        masks[i] = labels == c
    return masks, present, labels == ignore_index


def masks_to_labels(
    masks: np.ndarray,
    class_ids: Sequence[int],
    ignore: np.ndarray | None = None,
    background: int = 0,
) -> np.ndarray:
    """Paint per-class masks into one label map; later masks win where masks overlap.

    Arguments:
      masks: NxHxW bool.
      class_ids: class id of each mask.
      ignore: optional HxW bool painted with 255 last.
      background: label of pixels no mask covers.

    Returns:
      np.ndarray: HxW uint8 label map.
    """
    masks = np.asarray(masks, dtype=bool)
    if len(class_ids) != len(masks):
        raise ValueError(f"{len(masks)} masks but {len(class_ids)} class ids")
    out = np.full(masks.shape[1:], background, dtype=np.uint8)
    for m, c in zip(masks, class_ids, strict=True):
        out[m] = c
    if ignore is not None:
        out[ignore] = IGNORE_INDEX
    return out


def find_voc_root(folder: str | os.PathLike) -> Path:
    """The ``VOC2012`` folder (holding ``JPEGImages``) under ``folder``, wherever it sits.

    Arguments:
      folder: the folder itself, a ``VOCdevkit`` parent, or the extraction root.

    Returns:
      Path: folder that contains ``JPEGImages/``.
    """
    folder = Path(folder)
    for candidate in (folder, folder / "VOC2012", folder / "VOCdevkit" / "VOC2012"):
        if (candidate / "JPEGImages").is_dir():
            return candidate
    raise DatasetError(f"no VOC2012 folder (with JPEGImages/) found at or under {folder}")


def read_id_list(path: str | os.PathLike) -> list[str]:
    """Read an ``ImageSets`` list: one image id per line, blank lines skipped."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"image list not found: {path}")
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]


class VocSemantic:
    """Lazy loader of VOC-style semantic segmentation, one :class:`Sample` per image.

    ``gt`` has one mask per class present in the ground-truth map (background excluded unless
    ``include_background``), with ``meta["gt_labels"]`` the class ids; ``ignore`` marks the 255
    band. With ``coarse_dir``, ``coarse`` holds one mask per class of the coarse map
    (``meta["coarse_labels"]``); ``meta["pairing"]`` is ``"label"``: masks of gt and coarse
    correspond through their class ids. The raw maps are in ``meta["label_map"]`` and
    ``meta["coarse_label_map"]``.

    Arguments:
      root: ``VOC2012`` folder (or a parent, see :func:`find_voc_root`).
      split: ``ImageSets/Segmentation/<split>.txt`` name (``"val"``, ``"train"``,
        ``"trainaug"``), a path to a list file, or a list of ids.
      label_dir: ground-truth folder under ``root`` (``SegmentationClassAug`` for trainaug), or
        None for no ground truth.
      coarse_dir: optional folder of coarse label PNGs named ``<id>.png``.
      include_background: keep a class-0 mask.
      num_classes: K; every label map may hold only 0..K-1 and 255 (default 21, VOC's
        background and 20 classes). None accepts any index.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str | os.PathLike | Sequence[str] = "val",
        label_dir: str | None = "SegmentationClass",
        coarse_dir: str | os.PathLike | None = None,
        include_background: bool = False,
        num_classes: int | None = len(VOC_CLASSES),
    ) -> None:
        self.root = find_voc_root(root)
        if isinstance(split, (list, tuple)):
            self.ids = [str(s) for s in split]
        else:
            split_path = Path(split)
            if not split_path.suffix:
                split_path = self.root / "ImageSets" / "Segmentation" / f"{split}.txt"
            self.ids = read_id_list(split_path)
        self.label_dir = None if label_dir is None else self.root / label_dir
        self.coarse_dir = None if coarse_dir is None else Path(coarse_dir)
        self.include_background = include_background
        self.num_classes = num_classes
        for folder in (self.label_dir, self.coarse_dir):
            if folder is not None and not folder.is_dir():
                raise DatasetError(f"label folder not found: {folder}")

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, index: int) -> Sample:
        name = self.ids[index]
        image = read_rgb(self.root / "JPEGImages" / f"{name}.jpg")
        meta: dict = {"dataset": "voc", "pairing": "label", "classes": VOC_CLASSES}
        gt = ignore = coarse = None
        for kind, folder in (("gt", self.label_dir), ("coarse", self.coarse_dir)):
            if folder is None:
                continue
            path = folder / f"{name}.png"
            labels = read_label_map(path)
            if labels.shape != image.shape[:2]:
                raise DatasetError(
                    f"{path}: label map is {labels.shape} but the image is {image.shape[:2]}"
                )
            self._check_range(labels, path, "ground-truth" if kind == "gt" else "coarse")
            masks, ids, ign = labels_to_masks(labels, self.include_background)
            if kind == "gt":
                gt, ignore = masks, ign
                meta["gt_labels"], meta["label_map"] = ids, labels
            else:
                coarse = masks
                meta["coarse_labels"], meta["coarse_label_map"] = ids, labels
        return Sample(image=image, gt=gt, coarse=coarse, ignore=ignore, name=name, meta=meta)

    def _check_range(self, labels: np.ndarray, path: Path, which: str) -> None:
        """Refuse class indices outside 0..K-1 (255 = void is allowed), naming file and input."""
        if self.num_classes is None:
            return
        values = np.unique(labels)
        bad = values[(values >= self.num_classes) & (values != IGNORE_INDEX)]
        if bad.size:
            shown = ", ".join(str(int(v)) for v in bad[:8]) + (", ..." if bad.size > 8 else "")
            raise DatasetError(
                f"{which} label map {path}: class indices {shown} are outside 0..."
                f"{self.num_classes - 1} ({self.num_classes} classes; {IGNORE_INDEX} = void is "
                "allowed)"
            )


# --------------------------------------------------------------------------- SBD augmentation


def read_sbd_mat(path: str | os.PathLike) -> np.ndarray:
    """Read the class map of one SBD ``cls/<id>.mat`` file (struct ``GTcls.Segmentation``).

    Arguments:
      path: ``.mat`` file.

    Returns:
      np.ndarray: HxW uint8 class indices (SBD has no 255 band).
    """
    from scipy.io import loadmat

    path = Path(path)
    try:
        mat = loadmat(str(path), squeeze_me=True, struct_as_record=False)
        seg = mat["GTcls"].Segmentation
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise DatasetError(
            f"{path}: not an SBD class .mat with GTcls.Segmentation ({exc})"
        ) from exc
    return np.asarray(seg, dtype=np.uint8)


def prepare_voc_trainaug(
    voc_root: str | os.PathLike,
    sbd_dataset_dir: str | os.PathLike,
    out_dir_name: str = "SegmentationClassAug",
    progress: bool = True,
) -> dict[str, int]:
    """Build the standard VOC "trainaug" split from VOC 2012 + SBD.

    ``trainaug`` = (SBD train ∪ SBD val ∪ VOC train) − VOC val (10,582 images with the official
    files). Labels go to ``<voc_root>/<out_dir_name>/<id>.png`` as VOC palette PNGs: the VOC
    annotation where one exists (it has the 255 band), else the SBD one. The VOC val images are
    written too, so one folder serves both splits. The list is written to
    ``ImageSets/Segmentation/trainaug.txt``.

    Arguments:
      voc_root: ``VOC2012`` folder (or parent).
      sbd_dataset_dir: SBD ``benchmark_RELEASE/dataset`` folder (with ``cls/``, ``train.txt``,
        ``val.txt``).
      out_dir_name: output label folder name under ``voc_root``.
      progress: show a progress bar.

    Returns:
      dict[str, int]: counts: ``trainaug``, ``val``, ``from_voc``, ``from_sbd``.
    """
    from tqdm.auto import tqdm

    voc = find_voc_root(voc_root)
    sbd = Path(sbd_dataset_dir)
    sets = voc / "ImageSets" / "Segmentation"
    voc_train, voc_val = read_id_list(sets / "train.txt"), read_id_list(sets / "val.txt")
    sbd_ids = set(read_id_list(sbd / "train.txt")) | set(read_id_list(sbd / "val.txt"))
    trainaug = sorted((sbd_ids | set(voc_train)) - set(voc_val))
    out_dir = voc / out_dir_name
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {"trainaug": len(trainaug), "val": len(voc_val), "from_voc": 0, "from_sbd": 0}
    for name in tqdm(sorted(set(trainaug) | set(voc_val)), desc="VOC labels", disable=not progress):
        target = out_dir / f"{name}.png"
        voc_png = voc / "SegmentationClass" / f"{name}.png"
        if voc_png.is_file():
            counts["from_voc"] += 1
            if not target.exists():
                tmp = target.with_name(target.name + ".part")
                shutil.copyfile(voc_png, tmp)
                os.replace(tmp, target)
            continue
        counts["from_sbd"] += 1
        if not target.exists():
            write_label_png(read_sbd_mat(sbd / "cls" / f"{name}.mat"), target)
    (sets / "trainaug.txt").write_text("\n".join(trainaug) + "\n")
    return counts
