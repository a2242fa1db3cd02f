"""Mask decoding for prompt sets that belong to different images, in one call.

The stock ``MaskDecoder.predict_masks`` repeats one image's embedding for every prompt set, so a
batch of B images needs B calls. Training decodes prompts from many images at once; this
function runs the same stock submodules (two-way transformer, output upscaling, hypernetwork
MLPs, IoU head) on per-prompt-set embeddings. ``tests/test_training.py`` checks that it equals
the stock method for a single image.
"""

from __future__ import annotations

import torch
from segment_anything.modeling import MaskDecoder


def decode_all_tokens(
    decoder: MaskDecoder,
    embeddings: torch.Tensor,
    image_pe: torch.Tensor,
    sparse: torch.Tensor,
    dense: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks and IoU predictions of all mask tokens (single-output token first).

    Arguments:
      decoder: a stock ``MaskDecoder``.
      embeddings: TxCxhxw image embedding of each prompt set's image.
      image_pe: 1xCxhxw dense positional encoding (``prompt_encoder.get_dense_pe()``).
      sparse: TxNxC sparse prompt embeddings.
      dense: TxCxhxw dense prompt embeddings.

    Returns:
      (TxKxGhxGw low-resolution mask logits, TxK IoU predictions) with K = 1 + num_multimask
      outputs; index 0 is the single-mask output, 1.. the multimask outputs.
    """
    t = sparse.shape[0]
    out_tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
    tokens = torch.cat((out_tokens.unsqueeze(0).expand(t, -1, -1), sparse), dim=1)
    src = embeddings + dense
    pos = image_pe.expand(t, -1, -1, -1)
    b, c, h, w = src.shape
    hs, src = decoder.transformer(src, pos, tokens)
    iou_out = hs[:, 0, :]
    mask_out = hs[:, 1 : 1 + decoder.num_mask_tokens, :]
    up = decoder.output_upscaling(src.transpose(1, 2).reshape(b, c, h, w))
    hyper = torch.stack(
        [mlp(mask_out[:, i, :]) for i, mlp in enumerate(decoder.output_hypernetworks_mlps)], dim=1
    )
    bu, cu, hu, wu = up.shape
    masks = (hyper @ up.reshape(bu, cu, hu * wu)).reshape(bu, -1, hu, wu)
    return masks, decoder.iou_prediction_head(iou_out)
