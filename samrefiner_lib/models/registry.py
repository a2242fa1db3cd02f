"""Model registry and checkpoint loading: ``load_sam(name, checkpoint=None, device=...)``.

Official checkpoints (ViT-H/L/B) are for users to download; the project cannot ship them. The
embedded model is shipped inside the package. Checkpoints written by this project are dicts
``{"spec": SamSpec.to_dict(), "state_dict": ...}`` so the file says which architecture it holds;
official ones are bare state dicts.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from segment_anything.modeling import Sam

from .builders import OFFICIAL_SPECS, SamSpec, build_sam_from_spec


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt, or does not fit the requested architecture."""


@dataclass(frozen=True)
class ModelEntry:
    """One loadable model.

    Attributes:
      name: registry key.
      description: one line for listings.
      spec: the architecture, or None when the checkpoint file carries it.
      weights: a checkpoint shipped with the package (None: the user supplies one).
      filename, md5, url: the official file, its checksum and where to get it.
      builder: builds the model from a weights file (the user's ``checkpoint`` or ``weights``)
        for architectures that the stock ``SamSpec`` builder cannot express (e.g. a TinyViT
        encoder); None uses the spec.
    """

    name: str
    description: str
    spec: SamSpec | None = None
    weights: Path | None = None
    filename: str | None = None
    md5: str | None = None
    url: str | None = None
    builder: Callable[[Path | None], Sam] | None = None


_OFFICIAL_URL = "https://dl.fbaipublicfiles.com/segment_anything/"

_REGISTRY: dict[str, ModelEntry] = {
    "vit_h": ModelEntry("vit_h", "SAM ViT-H (official, 2.4 GB), used by the paper",
                        OFFICIAL_SPECS["vit_h"], None, "sam_vit_h_4b8939.pth",
                        "4b8939a88964f0f4ff5f5b2642c598a6", _OFFICIAL_URL + "sam_vit_h_4b8939.pth"),
    "vit_l": ModelEntry("vit_l", "SAM ViT-L (official, 1.2 GB)",
                        OFFICIAL_SPECS["vit_l"], None, "sam_vit_l_0b3195.pth",
                        "0b3195507c641ddb6910d2bb5adee89c", _OFFICIAL_URL + "sam_vit_l_0b3195.pth"),
    "vit_b": ModelEntry("vit_b", "SAM ViT-B (official, 358 MB)",
                        OFFICIAL_SPECS["vit_b"], None, "sam_vit_b_01ec64.pth",
                        "01ec64d29a2fca3f0661936605ae66f8", _OFFICIAL_URL + "sam_vit_b_01ec64.pth"),
}


def register_model(entry: ModelEntry, overwrite: bool = False) -> None:
    """Add a model to the registry (``overwrite`` replaces an existing name)."""
    if entry.name in _REGISTRY and not overwrite:
        raise KeyError(f"model {entry.name!r} is already registered")
    _REGISTRY[entry.name] = entry


def available_models() -> dict[str, ModelEntry]:
    """All registered models by name."""
    return dict(_REGISTRY)


def file_md5(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """MD5 of a file, read in chunks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], SamSpec | None]:
    """Read a checkpoint on the CPU; return its state dict and its spec (None if it has none).

    Raises:
      CheckpointError: for a missing, empty, truncated or unreadable file.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint is not a file: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint is empty (0 bytes): {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError,
            OSError) as exc:
        raise CheckpointError(
            f"cannot read checkpoint {path} ({path.stat().st_size} bytes): the file is truncated "
            f"or not a PyTorch checkpoint; download it again. Details: {exc}"
        ) from exc
    spec = None
    if isinstance(obj, dict) and "state_dict" in obj:
        if "spec" in obj:
            spec = SamSpec.from_dict(obj["spec"])
        obj = obj["state_dict"]
    elif isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return obj, spec


def save_checkpoint(sam: Sam, spec: SamSpec, path: str | os.PathLike,
                    extra: dict[str, Any] | None = None) -> None:
    """Write ``{"spec", "state_dict", **extra}`` atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    payload = {"spec": spec.to_dict(), "state_dict": sam.state_dict(), **(extra or {})}
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _guess_official(state: dict[str, torch.Tensor]) -> str | None:
    pos = state.get("image_encoder.pos_embed")
    if pos is None:
        return None
    for name, spec in OFFICIAL_SPECS.items():
        grid = spec.img_size // spec.patch_size
        if pos.shape[-1] == spec.encoder_embed_dim and tuple(pos.shape[1:3]) == (grid, grid):
            return name
    return None


def _load_into(sam: Sam, state: dict[str, torch.Tensor], path: Path, arch: str) -> None:
    own = sam.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        if mismatched:
            parts.append(f"{len(mismatched)} shape mismatches (e.g. {mismatched[0]})")
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[0]})")
        guess = _guess_official(state)
        hint = f" It looks like a {guess} checkpoint." if guess and guess != arch else ""
        raise CheckpointError(
            f"checkpoint {path} does not fit architecture {arch!r}: " + "; ".join(parts) + "."
            + hint
        )
    sam.load_state_dict(state, strict=True)


def load_sam(
    name: str | None = None,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    verify_md5: bool | None = None,
) -> Sam:
    """Build a registered SAM and load its weights.

    Arguments:
      name: a registered model (``vit_h``, ``vit_l``, ``vit_b`` or a model registered by the
        project, see :func:`available_models`). May be None when ``checkpoint`` is a file written
        by this project, which names its own architecture.
      checkpoint: weights file; defaults to the weights shipped for ``name``. Official models have
        none shipped: download the file named in the error message.
      device: where to put the model: ``"auto"`` (CUDA, else MPS, else the CPU), ``"cpu"``,
        ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a ``torch.device``; checked against this machine.
      verify_md5: check the file's MD5 against the official one. ``None`` checks when the file
        has the official file name.

    Returns:
      Sam in eval mode on ``device``.

    Raises:
      KeyError: unknown model name.
      CheckpointError: missing, corrupt, wrong-architecture or wrong-checksum checkpoint.
    """
    from ..devices import resolve_device  # devices imports io, which must not import models

    device = resolve_device(device, "device")
    entry = None
    if name is not None:
        if name not in _REGISTRY:
            raise KeyError(f"unknown model {name!r}; available: {', '.join(sorted(_REGISTRY))}")
        entry = _REGISTRY[name]
    elif checkpoint is None:
        raise ValueError("load_sam needs a model name, a checkpoint, or both")
    ckpt = Path(checkpoint) if checkpoint is not None else (entry.weights if entry else None)
    if entry is not None and entry.builder is not None:
        return entry.builder(ckpt).to(device).eval()
    if ckpt is None:
        if entry.url is None:
            raise CheckpointError(
                f"model {name!r} has no shipped weights in this installation; train them with "
                f"data_scripts/train_embedded_sam.py or pass checkpoint=PATH"
            )
        raise CheckpointError(
            f"model {name!r} needs a checkpoint: download {entry.url} "
            f"(MD5 {entry.md5}) and pass checkpoint=PATH (CLI: --checkpoint PATH)"
        )
    check = verify_md5 if verify_md5 is not None else (
        entry is not None and entry.filename is not None and ckpt.name == entry.filename
    )
    if check:
        if entry is None or entry.md5 is None:
            raise CheckpointError(f"no known MD5 for model {name!r}; cannot verify {ckpt}")
        if not ckpt.is_file():
            raise CheckpointError(f"checkpoint not found: {ckpt}")
        digest = file_md5(ckpt)
        if digest != entry.md5:
            raise CheckpointError(
                f"{ckpt} has MD5 {digest}, expected {entry.md5} for {entry.filename}: the "
                f"download is incomplete or corrupt; fetch {entry.url} again"
            )
    state, file_spec = read_checkpoint(ckpt)
    spec = file_spec or (entry.spec if entry else None)
    if spec is None:
        raise CheckpointError(f"{ckpt} does not say which architecture it holds; pass name=")
    if entry is not None and entry.spec is not None and file_spec is not None \
            and file_spec != entry.spec:
        raise CheckpointError(
            f"checkpoint {ckpt} holds a different architecture than model {name!r}"
        )
    sam = build_sam_from_spec(spec)
    _load_into(sam, state, ckpt, name or "checkpoint's own")
    return sam.to(device).eval()


def register_shipped(name: str, description: str, weights: Path) -> None:
    """Register a model whose checkpoint ships with the package (its spec is in the file)."""
    register_model(ModelEntry(name, description, None, weights), overwrite=True)
