"""The interactive-segmentation benchmark folders (f-BRS / RITM releases): GrabCut, Berkeley,
DAVIS-345, COCO MVal.

All four are "one image folder + one mask folder, paired by file stem", one object per image:

* GrabCut: ``data_GT/`` images, ``boundary_GT/`` masks; first channel 128 = ignore, > 128 =
  object.
* Berkeley: ``images/``, ``masks/``; same rule as GrabCut.
* DAVIS-345: ``img/``, ``gt/``; maximum over channels > 0 = object.
* COCO MVal: ``img/``, ``gt/``; first channel > 128 = object.

These are the reference loaders' rules (RITM ``isegm/data/datasets``). GrabCut masks hold an
unlabelled 128 band along object boundaries that every metric must ignore. Samples carry ``gt``
1xHxW, ``coarse`` None (these sets have no initial masks), and ``ignore`` where a band exists.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .readers import index_by_stem, list_images, open_image, read_gray, read_rgb
from .sample import DatasetError, Sample

Decoder = Callable[[Path], tuple[np.ndarray, np.ndarray | None]]


def decode_band_mask(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """GrabCut / Berkeley rule: 128 = ignore, > 128 = object (first channel).

    Arguments:
      path: mask file.

    Returns:
      tuple: (HxW bool object mask, HxW bool ignore mask or None when no pixel is 128).
    """
    m = read_gray(path)
    ignore = m == 128
    return m > 128, (ignore if ignore.any() else None)


def decode_threshold_128(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """COCO MVal rule: first channel > 128 = object, nothing ignored."""
    return read_gray(path) > 128, None


def decode_any_channel(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """DAVIS-345 rule: any channel > 0 = object, nothing ignored."""
    img = open_image(path, "mask")
    if img.mode in ("RGB", "RGBA", "P"):
        return np.asarray(img.convert("RGB")).max(axis=2) > 0, None
    return read_gray(path) > 0, None


@dataclass(frozen=True)
class FolderLayout:
    """Where one benchmark keeps its images and masks, and how masks decode."""

    name: str
    images_dir: str
    masks_dir: str
    decode: Decoder


LAYOUTS: dict[str, FolderLayout] = {
    "grabcut": FolderLayout("grabcut", "data_GT", "boundary_GT", decode_band_mask),
    "berkeley": FolderLayout("berkeley", "images", "masks", decode_band_mask),
    "davis345": FolderLayout("davis345", "img", "gt", decode_any_channel),
    "coco_mval": FolderLayout("coco_mval", "img", "gt", decode_threshold_128),
}
"""Known layouts by dataset name."""


class InteractiveFolder:
    """Lazy loader of an image-folder + mask-folder benchmark, one :class:`Sample` per image.

    Images are paired with masks by file stem; file names may contain spaces (COCO MVal).

    Arguments:
      root: dataset folder (holding the two subfolders).
      layout: a :data:`LAYOUTS` key or a :class:`FolderLayout`.
      resize_image_to_mask: resize each image (bilinear) to its mask's size instead of failing
        on a size mismatch.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        layout: str | FolderLayout,
        resize_image_to_mask: bool = False,
    ) -> None:
        self.layout = LAYOUTS[layout] if isinstance(layout, str) else layout
        self.root = Path(root)
        self.resize_image_to_mask = resize_image_to_mask
        images_dir = self.root / self.layout.images_dir
        masks_dir = self.root / self.layout.masks_dir
        for folder in (images_dir, masks_dir):
            if not folder.is_dir():
                raise DatasetError(
                    f"{self.layout.name}: expected folder {folder} (layout: "
                    f"{self.layout.images_dir}/ images, {self.layout.masks_dir}/ masks)"
                )
        images = index_by_stem(list_images(images_dir), images_dir)
        masks = index_by_stem(list_images(masks_dir), masks_dir)
        unmatched = sorted(set(images) ^ set(masks))
        if unmatched:
            raise DatasetError(
                f"{self.layout.name} at {self.root}: {len(unmatched)} file(s) have no partner "
                f"in the other folder, e.g. {unmatched[:3]}"
            )
        self.pairs = [(stem, images[stem], masks[stem]) for stem in sorted(images)]

    def __len__(self) -> int:
        return len(self.pairs)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, index: int) -> Sample:
        stem, image_path, mask_path = self.pairs[index]
        gt, ignore = self.layout.decode(mask_path)
        size = gt.shape if self.resize_image_to_mask else None
        image = read_rgb(image_path, size=size)
        if image.shape[:2] != gt.shape:
            raise DatasetError(
                f"{mask_path}: mask is {gt.shape[0]}x{gt.shape[1]} but image {image_path} is "
                f"{image.shape[0]}x{image.shape[1]} (HxW)"
            )
        return Sample(
            image=image,
            gt=gt[None],
            coarse=None,
            ignore=ignore,
            name=stem,
            meta={
                "dataset": self.layout.name,
                "image_path": str(image_path),
                "gt_path": str(mask_path),
            },
        )


def find_dataset_folder(root: str | os.PathLike, layout: str | FolderLayout) -> Path:
    """Locate a benchmark's folder under ``root`` (it may be ``root`` itself or nested).

    Arguments:
      root: where the archive was extracted.
      layout: layout name or object.

    Returns:
      Path: the shallowest folder holding both the image and mask subfolders.
    """
    lay = LAYOUTS[layout] if isinstance(layout, str) else layout
    root = Path(root)
    candidates = [root] + sorted(
        (p.parent for p in root.rglob(lay.images_dir) if p.is_dir()), key=lambda p: len(p.parts)
    )
    for c in candidates:
        if (c / lay.images_dir).is_dir() and (c / lay.masks_dir).is_dir():
            return c
    raise DatasetError(
        f"no {lay.name} folder under {root}: expected {lay.images_dir}/ and {lay.masks_dir}/ side "
        "by side"
    )


def grabcut(root: str | os.PathLike) -> InteractiveFolder:
    """GrabCut loader (``data_GT``/``boundary_GT``; 128 = ignore band)."""
    return InteractiveFolder(root, "grabcut")


def berkeley(root: str | os.PathLike) -> InteractiveFolder:
    """Berkeley loader (``images``/``masks``)."""
    return InteractiveFolder(root, "berkeley")


def davis345(root: str | os.PathLike) -> InteractiveFolder:
    """DAVIS-345 loader (``img``/``gt``)."""
    return InteractiveFolder(root, "davis345")


def coco_mval(root: str | os.PathLike) -> InteractiveFolder:
    """COCO MVal loader (``img``/``gt``, > 128)."""
    return InteractiveFolder(root, "coco_mval")
