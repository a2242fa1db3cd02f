"""What a results file records about how it was produced: software versions and the model."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

#: Distributions whose versions are recorded (missing ones are recorded as None).
RECORDED_PACKAGES = (
    "samrefiner-lib", "torch", "torchvision", "segment-anything", "numpy", "scipy",
    "opencv-python-headless", "pycocotools", "pillow", "pydensecrf2", "segmentation-refinement",
    "segment-anything-hq",
)


def software_versions() -> dict[str, Any]:
    """Python, platform and the versions of the packages that affect results.

    Returns:
      dict: ``python``, ``platform`` and one entry per name of :data:`RECORDED_PACKAGES`
      (None where not installed).
    """
    from .. import __version__

    out: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    # A source checkout that is not pip-installed still knows its own version.
    out["samrefiner-lib"] = out["samrefiner-lib"] or __version__
    return out


def model_record(name: str | None, checkpoint: str | os.PathLike | None,
                 device: str | None = None, checksum: bool = True) -> dict[str, Any]:
    """Which model produced the results.

    Arguments:
      name: registered model name (None when the checkpoint names its own architecture).
      checkpoint: the weights file given by the user, or None for the registered default.
      device: the torch device used.
      checksum: record the MD5 of the weights file (reads the whole file).

    Returns:
      dict: ``name``, ``checkpoint`` (the file actually loaded, shipped weights included),
      ``checkpoint_md5`` and ``device``.
    """
    from ..models import available_models, file_md5
    from ..models.defaults import DEFAULT_MODEL

    resolved = name if name else (None if checkpoint else DEFAULT_MODEL)
    path = Path(checkpoint) if checkpoint else None
    if path is None and resolved in available_models():
        path = available_models()[resolved].weights
    md5 = file_md5(path) if checksum and path is not None and path.is_file() else None
    return {"name": resolved, "checkpoint": None if path is None else str(path),
            "checkpoint_md5": md5, "device": device}
