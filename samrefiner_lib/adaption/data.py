"""Inputs of IoU adaption: images with coarse masks, in memory or on disk.

:func:`iter_items` turns what a caller passes (``Sample`` objects or ``(image, masks)`` pairs)
into validated arrays. Two on-disk layouts are read for the command line:

* a folder pair (:func:`pairs_from_folders`): every image ``IMAGES/<stem>.<ext>`` has either one
  mask ``MASKS/<stem>.<ext>`` or a folder ``MASKS/<stem>/`` holding one mask file per object;
* a list file (:func:`pairs_from_list`): one image per line, tab-separated,
  ``image<TAB>mask[<TAB>mask ...]``; paths relative to the list file's folder; blank lines and
  lines starting with ``#`` are skipped. Tabs (not spaces) separate fields because real dataset
  file names contain spaces.

Masks are 0/255 or 0/1 single-channel images of the image's size (see
:func:`samrefiner_lib.io.load_masks`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets.readers import IMAGE_SUFFIXES
from ..datasets.sample import Sample
from ..io import InputError, load_image, load_masks

#: A dataset item: a Sample, or (image, masks) with paths/arrays accepted by load_image/masks.
DatasetItem = Sample | tuple[Any, Any]


@dataclass
class AdaptionItem:
    """One validated image with its coarse masks.

    Attributes:
      image: HxWx3 uint8 RGB.
      coarse: NxHxW bool coarse masks (N may be 0).
      name: label used in messages and records.
    """

    image: np.ndarray
    coarse: np.ndarray
    name: str


def iter_items(dataset: Iterable[DatasetItem], what: str = "dataset") -> Iterator[AdaptionItem]:
    """Validate and yield the items of an adaption dataset.

    Arguments:
      dataset: ``Sample`` objects (their ``coarse`` masks are used; ground truth is ignored) or
        ``(image, masks)`` pairs: image as a path, PIL image or HxWx3 array; masks as one mask, a
        list of masks (paths or HxW arrays) or an NxHxW array.
      what: how error messages name the dataset.

    Yields:
      AdaptionItem
    """
    if isinstance(dataset, (str, os.PathLike)):
        raise InputError(f"{what}: expected an iterable of samples or (image, masks) pairs, got "
                         f"a path {str(dataset)!r}; see pairs_from_folders / pairs_from_list")
    for k, item in enumerate(dataset):
        label = f"{what}[{k}]"
        if isinstance(item, Sample):
            if item.coarse is None:
                raise InputError(f"{label} (sample {item.name!r}): has no coarse masks to adapt on")
            yield AdaptionItem(item.image, item.coarse, item.name)
            continue
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise InputError(f"{label}: expected a Sample or an (image, masks) pair, got "
                             f"{type(item).__name__}")
        image_in, masks_in = item
        image = load_image(image_in, name=f"{label}.image")
        coarse = load_masks(masks_in, image.shape[:2], name=f"{label}.masks")
        name = str(image_in) if isinstance(image_in, (str, os.PathLike)) else label
        yield AdaptionItem(image, coarse, name)


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def pairs_from_folders(
    images: str | os.PathLike, masks: str | os.PathLike
) -> list[tuple[Path, list[Path]]]:
    """Pair every image of a folder with its coarse masks, by file stem.

    Arguments:
      images: folder of images (``.jpg``, ``.png``, ...; not searched recursively).
      masks: folder holding ``<stem>.<ext>`` (one mask) or ``<stem>/`` (one file per object) for
        every image stem.

    Returns:
      list of (image path, [mask paths]), sorted by image file name.

    Raises:
      InputError: a folder is missing or empty, or an image has no masks (all such images are
        named, up to five).
    """
    img_dir, mask_dir = Path(images), Path(masks)
    for flag, d in (("--images", img_dir), ("--masks", mask_dir)):
        if not d.is_dir():
            raise InputError(f"{flag}: folder not found: {d}")
    image_files = _image_files(img_dir)
    if not image_files:
        raise InputError(f"--images: no image files in {img_dir}")
    singles: dict[str, list[Path]] = {}
    for p in _image_files(mask_dir):
        singles.setdefault(p.stem, []).append(p)
    out: list[tuple[Path, list[Path]]] = []
    missing: list[str] = []
    for img in image_files:
        sub = mask_dir / img.stem
        found = singles.get(img.stem, [])
        if len(found) > 1:
            raise InputError(f"--masks: several mask files for image {img.name}: "
                             f"{[p.name for p in found]}")
        if sub.is_dir():
            if found:
                raise InputError(f"--masks: both {found[0].name} and folder {sub.name}/ exist for "
                                 f"image {img.name}; keep one")
            found = _image_files(sub)
        if not found:
            missing.append(img.name)
            continue
        out.append((img, found))
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputError(
            f"--masks: no mask for {len(missing)} image(s) of {img_dir} ({', '.join(missing[:5])}"
            f"{more}); expected {mask_dir}/<stem>.png or {mask_dir}/<stem>/*.png"
        )
    return out


def pairs_from_list(list_file: str | os.PathLike) -> list[tuple[Path, list[Path]]]:
    """Read a tab-separated list file of ``image<TAB>mask[<TAB>mask ...]`` lines.

    Arguments:
      list_file: the text file; relative paths are resolved against its folder.

    Returns:
      list of (image path, [mask paths]) in file order.

    Raises:
      InputError: the file is missing or empty, or a line names fewer than two paths or a file
        that does not exist (the line number is given).
    """
    path = Path(list_file)
    if not path.is_file():
        raise InputError(f"--list: file not found: {path}")
    root = path.parent
    out: list[tuple[Path, list[Path]]] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t") if f.strip()]
        if len(fields) < 2:
            raise InputError(f"--list: {path}:{lineno}: expected 'image<TAB>mask[<TAB>mask ...]', "
                             f"got {line!r}")
        files = [p if p.is_absolute() else root / p for p in map(Path, fields)]
        absent = [str(p) for p in files if not p.is_file()]
        if absent:
            raise InputError(f"--list: {path}:{lineno}: file not found: {absent[0]}")
        out.append((files[0], files[1:]))
    if not out:
        raise InputError(f"--list: {path} lists no image")
    return out


def write_list(pairs: Sequence[tuple[str | os.PathLike, Sequence[str | os.PathLike]]],
               path: str | os.PathLike) -> Path:
    """Write pairs in the :func:`pairs_from_list` format (absolute paths).

    Returns:
      Path: the file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for image, masks in pairs:
        fields = [str(Path(image).resolve()), *(str(Path(m).resolve()) for m in masks)]
        if any("\t" in f or "\n" in f for f in fields):
            raise InputError(f"cannot list {fields}: a path contains a tab or newline")
        lines.append("\t".join(fields))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
