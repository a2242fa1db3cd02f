"""The synthetic-scene model `sam_tiny_synth`: a small SAM trained on this project's scenes.

It was the project's first default and is now its fast model (``FAST_MODEL``: smoke-scale runs
and quick tests; the default is ``sam_lite_real``, see :mod:`samrefiner_lib.models.defaults`).
It cannot read photographs well: it was trained on synthetic scenes only. The package ships it:
built from the stock ``segment_anything`` classes (256 px input, patch 8, a 32 x 32 embedding and
a 128 x 128 mask grid) and trained with ``data_scripts/train_embedded_sam.py``. Its model card is
``samrefiner_lib/weights/MODEL_CARD.md``. Users with the official checkpoints pass
``--model vit_h --checkpoint sam_vit_h_4b8939.pth`` instead; nothing else changes.
"""

from __future__ import annotations

from pathlib import Path

from .builders import SamSpec
from .defaults import FAST_MODEL
from .registry import ModelEntry, register_model

#: Architecture of the embedded model (about 4.7 M parameters).
EMBEDDED_SPEC = SamSpec(
    img_size=256,
    patch_size=8,
    encoder_embed_dim=192,
    encoder_depth=8,
    encoder_num_heads=6,
    encoder_global_attn_indexes=(3, 7),
    window_size=8,
    prompt_embed_dim=128,
    decoder_depth=2,
    decoder_mlp_dim=512,
    decoder_num_heads=4,
    iou_head_hidden_dim=128,
    iou_head_depth=3,
    mask_in_chans=16,
)

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
EMBEDDED_WEIGHTS = WEIGHTS_DIR / f"{FAST_MODEL}.pt"


def register_embedded() -> None:
    """Register the embedded model (its weights file may not exist in a source checkout)."""
    register_model(
        ModelEntry(
            FAST_MODEL,
            "small SAM trained on synthetic scenes, shipped with the package (embedded default)",
            EMBEDDED_SPEC,
            EMBEDDED_WEIGHTS if EMBEDDED_WEIGHTS.exists() else None,
        ),
        overwrite=True,
    )


register_embedded()
