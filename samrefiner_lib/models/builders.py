"""Builders for SAM models of any size from the stock ``segment_anything.modeling`` classes.

``segment_anything.build_sam`` fixes the input size (1024), the patch size (16) and the prompt
embedding width (256). :class:`SamSpec` makes all of them parameters, so the same stock classes
give the official architectures and the small models this project trains and tests with.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)


@dataclass(frozen=True)
class SamSpec:
    """Architecture of a SAM model built from the stock classes.

    Attributes:
      img_size: square encoder input size.
      patch_size: ViT patch size; the embedding grid is img_size / patch_size.
      encoder_embed_dim, encoder_depth, encoder_num_heads: ViT width, depth, heads.
      encoder_global_attn_indexes: blocks with global attention (others are windowed).
      window_size: attention window of the windowed blocks (0 = all global).
      mlp_ratio: ViT MLP expansion.
      prompt_embed_dim: width of the neck output, prompt embeddings and decoder.
      decoder_depth, decoder_mlp_dim, decoder_num_heads: two-way transformer of the decoder.
      iou_head_hidden_dim, iou_head_depth: the IoU-prediction MLP.
      mask_in_chans: channels of the mask-prompt downscaler.
      use_rel_pos: relative positional encodings in attention.
    """

    img_size: int = 1024
    patch_size: int = 16
    encoder_embed_dim: int = 768
    encoder_depth: int = 12
    encoder_num_heads: int = 12
    encoder_global_attn_indexes: tuple[int, ...] = (2, 5, 8, 11)
    window_size: int = 14
    mlp_ratio: float = 4.0
    prompt_embed_dim: int = 256
    decoder_depth: int = 2
    decoder_mlp_dim: int = 2048
    decoder_num_heads: int = 8
    iou_head_hidden_dim: int = 256
    iou_head_depth: int = 3
    mask_in_chans: int = 16
    use_rel_pos: bool = True

    def __post_init__(self) -> None:
        if self.img_size % self.patch_size:
            raise ValueError(
                f"img_size {self.img_size} must be a multiple of patch_size {self.patch_size}"
            )
        if any(not 0 <= i < self.encoder_depth for i in self.encoder_global_attn_indexes):
            raise ValueError("encoder_global_attn_indexes must index encoder blocks")

    @property
    def embedding_size(self) -> int:
        return self.img_size // self.patch_size

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["encoder_global_attn_indexes"] = list(self.encoder_global_attn_indexes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SamSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown SamSpec field(s) {unknown}")
        d = dict(d)
        if "encoder_global_attn_indexes" in d:
            d["encoder_global_attn_indexes"] = tuple(d["encoder_global_attn_indexes"])
        return cls(**d)


#: The official architectures (segment_anything.build_sam), for building and for timing.
OFFICIAL_SPECS: dict[str, SamSpec] = {
    "vit_b": SamSpec(encoder_embed_dim=768, encoder_depth=12, encoder_num_heads=12,
                     encoder_global_attn_indexes=(2, 5, 8, 11)),
    "vit_l": SamSpec(encoder_embed_dim=1024, encoder_depth=24, encoder_num_heads=16,
                     encoder_global_attn_indexes=(5, 11, 17, 23)),
    "vit_h": SamSpec(encoder_embed_dim=1280, encoder_depth=32, encoder_num_heads=16,
                     encoder_global_attn_indexes=(7, 15, 23, 31)),
}

#: A tiny model for unit tests: random weights, 64 px input, runs in milliseconds.
TEST_SPEC = SamSpec(
    img_size=64, patch_size=8, encoder_embed_dim=32, encoder_depth=2, encoder_num_heads=2,
    encoder_global_attn_indexes=(1,), window_size=4, prompt_embed_dim=32, decoder_depth=1,
    decoder_mlp_dim=64, decoder_num_heads=2, iou_head_hidden_dim=32, mask_in_chans=4,
)


def build_sam_from_spec(spec: SamSpec, seed: int | None = None) -> Sam:
    """Build an (untrained) SAM from the stock classes.

    Arguments:
      spec: the architecture.
      seed: seeds the random initialisation when given.

    Returns:
      Sam in eval mode on the CPU.
    """
    if seed is not None:
        torch.manual_seed(seed)
    e = spec.embedding_size
    sam = Sam(
        image_encoder=ImageEncoderViT(
            depth=spec.encoder_depth,
            embed_dim=spec.encoder_embed_dim,
            img_size=spec.img_size,
            mlp_ratio=spec.mlp_ratio,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=spec.encoder_num_heads,
            patch_size=spec.patch_size,
            qkv_bias=True,
            use_rel_pos=spec.use_rel_pos,
            global_attn_indexes=spec.encoder_global_attn_indexes,
            window_size=spec.window_size,
            out_chans=spec.prompt_embed_dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=spec.prompt_embed_dim,
            image_embedding_size=(e, e),
            input_image_size=(spec.img_size, spec.img_size),
            mask_in_chans=spec.mask_in_chans,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=spec.decoder_depth,
                embedding_dim=spec.prompt_embed_dim,
                mlp_dim=spec.decoder_mlp_dim,
                num_heads=spec.decoder_num_heads,
            ),
            transformer_dim=spec.prompt_embed_dim,
            iou_head_depth=spec.iou_head_depth,
            iou_head_hidden_dim=spec.iou_head_hidden_dim,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    return sam.eval()
