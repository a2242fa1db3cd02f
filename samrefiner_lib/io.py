"""Loading and validating images, coarse masks and output locations.

Every public entry point of the library funnels its inputs through :func:`load_image` and
:func:`load_masks`, so that bad input fails here, with a message naming the input, instead of
deep inside torch with a shape error.

Rules enforced here:

* Image size: files above :func:`max_image_pixels` pixels are refused before they are decoded
  (a guard against decompression bombs). The limit is Pillow's own refusal point
  (``2 * PIL.Image.MAX_IMAGE_PIXELS``, 178,956,970 pixels by default, about 13,377 x 13,377);
  set the environment variable ``SAMREFINER_MAX_IMAGE_PIXELS`` to a number of pixels, or to
  ``none`` for no limit, to read larger images on purpose (the command line's
  ``--max-image-pixels`` sets it for one run).
* Mask files are read by value, never by colour name: grayscale masks hold {0, 1} or {0, 255};
  palette (indexed) PNGs are read by *index*: index 0 is the background and one other index is
  the object, whatever colours the palette gives them; more than one non-zero index (a label
  map, e.g. VOC classes with the 255 void band) is refused. RGB(A) masks are either gray
  (R = G = B, read as a grayscale mask) or black plus one colour (the object).
* Output locations are checked before any work starts (:func:`check_output_folder`,
  :func:`check_output_file`).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

PathLike = str | os.PathLike
ImageInput = PathLike | np.ndarray | Image.Image
MaskInput = PathLike | np.ndarray | Image.Image


class InputError(ValueError):
    """Raised when an image or mask given to the library is unusable; the message names it."""


#: Environment variable holding the largest image (in pixels) the readers decode, or ``none``.
MAX_PIXELS_ENV = "SAMREFINER_MAX_IMAGE_PIXELS"

# Pillow's bomb check reads one module global; lifting it for one file is done under this lock.
_PILLOW_LIMIT_LOCK = threading.Lock()


def parse_pixel_limit(text: str, source: str = MAX_PIXELS_ENV) -> int | None:
    """Parse a pixel limit: a positive whole number (``_`` and ``,`` separators allowed) or none.

    Arguments:
      text: the setting, e.g. ``"200000000"``, ``"200_000_000"`` or ``"none"``.
      source: how error messages refer to the setting.

    Returns:
      int | None: the limit in pixels, or None for no limit.
    """
    value = str(text).strip()
    if value.lower() in ("none", "unlimited"):
        return None
    try:
        limit = int(value.replace(",", "").replace("_", ""))
    except ValueError:
        limit = 0
    if limit < 1:
        raise InputError(
            f"{source}: expected a positive whole number of pixels or 'none' (no limit), got "
            f"{text!r}"
        )
    return limit


def max_image_pixels() -> int | None:
    """The largest image, in pixels (width x height), that the readers decode.

    ``$SAMREFINER_MAX_IMAGE_PIXELS`` when set (a number, or ``none`` for no limit); otherwise
    Pillow's own refusal point, ``2 * PIL.Image.MAX_IMAGE_PIXELS`` (None when a program set
    Pillow's limit to None).

    Returns:
      int | None: the limit, or None for no limit.
    """
    setting = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if setting:
        return parse_pixel_limit(setting)
    pillow = Image.MAX_IMAGE_PIXELS
    return None if pillow is None else 2 * int(pillow)


def _check_pixels(size: tuple[int, int], path: Path, what: str, limit: int | None) -> None:
    width, height = size
    pixels = int(width) * int(height)
    if limit is not None and pixels > limit:
        raise InputError(
            f"{what}: {path} is {width}x{height} (WxH) = {pixels:,} pixels, above the limit of "
            f"{limit:,} pixels that guards against decompression bombs; to read it on purpose "
            f"set {MAX_PIXELS_ENV}={pixels} (or 'none' for no limit), or pass "
            f"--max-image-pixels {pixels} on the command line"
        )


def _open_within(path: Path, what: str, limit: int | None) -> Image.Image:
    img = Image.open(path)
    try:
        _check_pixels(img.size, path, what, limit)
        img.load()
    except BaseException:
        img.close()
        raise
    return img


def _open_limited(path: Path, what: str) -> Image.Image:
    """Open and decode ``path`` under this library's pixel limit instead of Pillow's."""
    limit = max_image_pixels()
    with warnings.catch_warnings():
        # The limit above decides; Pillow's own warning (at half its refusal point) is noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return _open_within(path, what, limit)
        except Image.DecompressionBombError:
            pass  # Pillow's limit is lower than ours: lift it for this one file.
        with _PILLOW_LIMIT_LOCK:
            saved = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
            try:
                return _open_within(path, what, limit)
            finally:
                Image.MAX_IMAGE_PIXELS = saved


def read_image_file(path: PathLike, what: str) -> Image.Image:
    """Open and fully decode an image file, or raise InputError naming ``what`` and the path.

    Images above :func:`max_image_pixels` are refused before decoding, with their size.

    Arguments:
      path: image file.
      what: how error messages refer to this input.

    Returns:
      Image.Image: the decoded image, in the file's own mode.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what}: file not found: {path}")
    if not path.is_file():
        raise InputError(f"{what}: not a regular file: {path}")
    try:
        return _open_limited(path, what)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"{what}: cannot decode {path} as an image ({exc})") from exc


def load_image(image: ImageInput, name: str = "image") -> np.ndarray:
    """Return an image as a contiguous HxWx3 uint8 RGB array.

    Arguments:
      image: a path, a PIL image or an array. Arrays may be HxW (grayscale), HxWx1, HxWx3 or
        HxWx4 (alpha is dropped); dtype uint8, or float in [0, 1] (scaled by 255).
      name: how error messages refer to this input.

    Returns:
      np.ndarray: HxWx3, uint8.
    """
    if isinstance(image, (str, os.PathLike)):
        image = read_image_file(image, name)
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name}: expected a path, PIL image or numpy array, got {type(image)!r}")
    arr = image
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise InputError(
            f"{name}: expected shape HxW, HxWx1, HxWx3 or HxWx4, got {tuple(image.shape)}"
        )
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"{name}: image has zero size {tuple(image.shape)}")
    if arr.dtype == np.bool_:
        raise InputError(f"{name}: boolean array is a mask, not an image")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise InputError(f"{name}: float image contains NaN or infinity")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise InputError(
                f"{name}: float images must lie in [0, 1], got range [{lo:.3g}, {hi:.3g}]"
            )
        arr = np.round(arr * 255.0).astype(np.uint8)
    elif arr.dtype != np.uint8:
        if arr.min() < 0 or arr.max() > 255:
            raise InputError(f"{name}: integer images must lie in [0, 255] ({arr.dtype})")
        arr = arr.astype(np.uint8)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]
    return np.ascontiguousarray(arr)


def _binarise(arr: np.ndarray, name: str) -> np.ndarray:
    """Turn one 2-D mask array into bool, accepting {0,1}, {0,255}, bool and float in [0,1]."""
    if arr.dtype == np.bool_:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise InputError(f"{name}: float mask contains NaN or infinity")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise InputError(
                f"{name}: float masks must be probabilities in [0, 1], got [{lo:.3g}, {hi:.3g}]"
            )
        return arr >= 0.5
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"{name}: unsupported mask dtype {arr.dtype}")
    values = np.unique(arr)
    if np.isin(values, (0, 1)).all():
        return arr == 1
    if np.isin(values, (0, 255)).all():
        return arr == 255
    raise InputError(
        f"{name}: integer masks must hold only {{0, 1}} or {{0, 255}}, found values "
        f"{values[:8].tolist()}{' ...' if values.size > 8 else ''}; threshold soft masks first"
    )


def _listed(values: np.ndarray, limit: int = 8) -> str:
    shown = ", ".join(str(int(v)) for v in values[:limit])
    return f"[{shown}{', ...' if values.size > limit else ''}]"


def palette_mask(img: Image.Image, name: str) -> np.ndarray:
    """Read a palette (indexed) mask by index, never by colour.

    Index 0 is the background and any one other index is the object, whatever colours the
    palette gives them (a mask whose object index is drawn green reads as well as a red one).
    More than one non-zero index is refused: that is a label map (e.g. VOC classes with the 255
    void band), not one mask. A palette that draws index 0 in a colour and the object index in
    black contradicts the rule and is refused too.

    Arguments:
      img: a PIL image in mode ``P`` (or ``PA``; alpha is ignored).
      name: how error messages refer to this input.

    Returns:
      np.ndarray: HxW uint8, 255 on the object and 0 elsewhere.
    """
    indices = np.asarray(img)
    if indices.ndim == 3:  # PA: index and alpha
        indices = indices[..., 0]
    used = np.unique(indices)
    objects = used[used != 0]
    if objects.size > 1:
        raise InputError(
            f"{name}: palette PNG uses the indices {_listed(used)}; a mask may use index 0 "
            "(background) and one other index (the object). This looks like a label map: "
            "save one object as a 0/255 mask, or refine the label map with "
            "`samrefiner refine-semantic --labels`"
        )
    if objects.size == 0:
        return np.zeros(indices.shape, dtype=np.uint8)
    index = int(objects[0])
    palette = img.getpalette() or []
    colours = [tuple(palette[3 * i: 3 * i + 3]) for i in (0, index)]
    if len(colours[1]) == 3 and colours[1] == (0, 0, 0) and colours[0] not in ((), (0, 0, 0)):
        raise InputError(
            f"{name}: palette PNG draws index 0 (read as background) in colour {colours[0]} "
            f"and index {index} (read as the object) in black; palette masks are read by "
            "index, so this one would read inverted. Save it as a 0/255 grayscale PNG"
        )
    return np.where(indices == index, 255, 0).astype(np.uint8)


def colour_mask(rgb: np.ndarray, name: str) -> np.ndarray:
    """Read an RGB mask: gray (R = G = B) as is, or black plus one colour as that colour's object.

    Arguments:
      rgb: HxWx3 (or HxWx4, alpha ignored) uint8.
      name: how error messages refer to this input.

    Returns:
      np.ndarray: HxW uint8: the gray values (binarised later by the grayscale rules), or 0/255
      for a black-plus-one-colour mask.
    """
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    if np.array_equal(r, g) and np.array_equal(g, b):
        return np.ascontiguousarray(r)
    packed = (r.astype(np.uint32) << 16) | (g.astype(np.uint32) << 8) | b.astype(np.uint32)
    colours = np.unique(packed)
    objects = colours[colours != 0]
    if objects.size == 1:
        return np.where(packed == objects[0], 255, 0).astype(np.uint8)
    shown = ", ".join(str(((int(c) >> 16) & 255, (int(c) >> 8) & 255, int(c) & 255))
                      for c in colours[:4])
    more = ", ..." if colours.size > 4 else ""
    raise InputError(
        f"{name}: colour mask with {colours.size} colours ({shown}{more}); "
        "expected a gray mask (R = G = B, values {0, 1} or {0, 255}) or black plus one colour "
        "for the object"
    )


def pil_mask_values(img: Image.Image, name: str) -> np.ndarray:
    """The mask values of a PIL image, by the rules of :func:`load_masks` (before binarising).

    Arguments:
      img: PIL image of any mode.
      name: how error messages refer to this input.

    Returns:
      np.ndarray: HxW array: palette and colour masks as 0/255 uint8, gray masks as stored.
    """
    if img.mode in ("P", "PA"):
        return palette_mask(img, name)
    if img.mode in ("RGB", "RGBA", "RGBX"):
        return colour_mask(np.asarray(img), name)
    if img.mode == "LA":
        return np.asarray(img)[..., 0]
    if img.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        raise InputError(f"{name}: image mode {img.mode!r} is not a mask; expected a grayscale, "
                         "palette or RGB PNG")
    return np.asarray(img)


def _mask_to_array(mask: MaskInput, name: str) -> np.ndarray:
    if isinstance(mask, (str, os.PathLike)):
        return pil_mask_values(read_image_file(mask, name), f"{name} ({mask})")
    if isinstance(mask, Image.Image):
        return pil_mask_values(mask, name)
    if isinstance(mask, np.ndarray):
        return mask
    try:
        import torch

        if isinstance(mask, torch.Tensor):
            return mask.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    raise InputError(f"{name}: expected a path, PIL image or array, got {type(mask)!r}")


def load_masks(
    masks: MaskInput | Sequence[MaskInput],
    image_shape: tuple[int, int] | None = None,
    name: str = "masks",
) -> np.ndarray:
    """Return coarse masks as an NxHxW bool array.

    Arguments:
      masks: one mask (path, PIL image, HxW or HxWx1 array) or several (a list of those, or an
        NxHxW array). Values may be bool, {0, 1}, {0, 255} or floats in [0, 1] (threshold 0.5).
        Palette images are read by index (0 background, one other index the object) and RGB
        images must be gray or black plus one colour (see :func:`pil_mask_values`).
      image_shape: (H, W) every mask must match, usually the image's.
      name: how error messages refer to this input.

    Returns:
      np.ndarray: NxHxW, bool. N may be 0 for an empty list.
    """
    if isinstance(masks, np.ndarray) and masks.ndim == 3 and masks.shape[-1] != 1:
        if masks.dtype == np.bool_ and (image_shape is None
                                        or masks.shape[1:] == tuple(image_shape)):
            # Already in the output format: no per-mask copies (a batch can be gigabytes).
            return np.ascontiguousarray(masks)
        items: list[MaskInput] = list(masks)
    elif isinstance(masks, (list, tuple)):
        items = list(masks)
    else:
        items = [masks]
    out = []
    for i, m in enumerate(items):
        label = f"{name}[{i}]"
        arr = _mask_to_array(m, label)
        if isinstance(m, (str, os.PathLike)):
            label = f"{label} ({m})"
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim != 2:
            raise InputError(f"{label}: expected a 2-D mask (HxW), got shape {tuple(arr.shape)}")
        arr = _binarise(arr, label)
        if image_shape is not None and arr.shape != tuple(image_shape):
            raise InputError(
                f"{label}: mask size {arr.shape[0]}x{arr.shape[1]} (HxW) differs from the image "
                f"size {image_shape[0]}x{image_shape[1]}"
            )
        out.append(arr)
    if not out:
        h, w = image_shape if image_shape is not None else (0, 0)
        return np.zeros((0, h, w), dtype=bool)
    shapes = {a.shape for a in out}
    if len(shapes) > 1:
        raise InputError(f"{name}: masks have different sizes {sorted(shapes)}")
    return np.stack(out, axis=0)


def save_mask(mask: np.ndarray, path: PathLike) -> None:
    """Write a binary mask as an 8-bit 0/255 PNG, atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(tmp, format="PNG")
    os.replace(tmp, path)


def _existing_ancestor(path: Path) -> Path:
    """The nearest of ``path``'s parents (or ``path`` itself) that exists."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(".")  # pragma: no cover - a relative path's ancestors end in "."


def _check_creatable(path: Path, option: str, kind: str) -> None:
    """Raise InputError unless a missing ``path`` could be created (folders on the way)."""
    ancestor = _existing_ancestor(path.parent if path.parent != path else path)
    if not ancestor.is_dir():
        raise InputError(
            f"{option}: cannot create the {kind} {path}: {ancestor} is a file, not a folder"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(
            f"{option}: cannot create the {kind} {path}: the folder {ancestor} is not writable "
            "by this user"
        )


def check_output_folder(path: PathLike, option: str = "--out") -> Path:
    """Check, before any work starts, that an output folder can be used or created.

    Nothing is created. The folder may exist (it must be a writable folder) or be missing (its
    nearest existing parent must be a writable folder).

    Arguments:
      path: the output folder.
      option: how error messages refer to it, e.g. ``"--out"``.

    Returns:
      Path: ``path``.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise InputError(
                f"{option}: {path} exists and is not a folder; expected an output folder "
                "(created when missing)"
            )
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{option}: the folder {path} is not writable by this user")
        return path
    _check_creatable(path / "_", option, "folder")
    return path


def check_output_file(path: PathLike, option: str = "--out") -> Path:
    """Check, before any work starts, that an output file can be written (atomically).

    Nothing is created. An existing file is replaced; a folder at ``path`` is refused; the
    file's folder must exist and be writable, or be creatable.

    Arguments:
      path: the output file.
      option: how error messages refer to it.

    Returns:
      Path: ``path``.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{option}: {path} is a folder; expected the name of a file to write")
    if path.exists() and not path.is_file():
        raise InputError(f"{option}: {path} exists and is not a regular file")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise InputError(f"{option}: cannot write {path}: {parent} is a file, not a folder")
    if parent.is_dir():
        if not os.access(parent, os.W_OK | os.X_OK):
            raise InputError(
                f"{option}: cannot write {path}: the folder {parent} is not writable by this user"
            )
        return path
    _check_creatable(path, option, "file")
    return path


def check_distinct_outputs(paths: dict[str, PathLike | None]) -> None:
    """Refuse two output options that name the same file (the second would overwrite the first).

    Arguments:
      paths: option name -> path (None entries are skipped).
    """
    seen: dict[str, str] = {}
    for option, path in paths.items():
        if path is None:
            continue
        key = os.path.normcase(os.path.abspath(path))
        if key in seen:
            raise InputError(
                f"{option}: {path} is also the {seen[key]} file; give two different files"
            )
        seen[key] = option
