"""Direct calls into a stock SAM: image encoding, batched prompt decoding, upsampling.

``Sam.forward`` runs under ``torch.no_grad`` and re-encodes nothing it is not asked to, but it
decodes one prompt set per image record. Here the prompt encoder and mask decoder are called
directly with all N prompt sets of an image stacked on the batch axis, which is both the fast
path (one decoder call for N masks) and the path with gradients (IoU adaption).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam
from segment_anything.utils.transforms import ResizeLongestSide

from .geometry import Frame, ModelGeometry
from .prompts.cebox import valid_embedding_size
from .prompts.excavate import PromptSet


@dataclass
class ImageEmbedding:
    """The image encoder's output for one image, with the image's geometry.

    Attributes:
      features: 1xCxhxw image embedding.
      frame: the image's geometry in the model.
    """

    features: torch.Tensor
    frame: Frame

    @property
    def valid_features(self) -> torch.Tensor:
        """Cxh'xw': the part of the embedding that covers real (un-padded) pixels."""
        vh, vw = valid_embedding_size(
            self.frame.input_size, self.frame.model.img_size, self.frame.model.embedding_size
        )
        return self.features[0, :, :vh, :vw]


def model_device(sam: Sam) -> torch.device:
    return next(sam.parameters()).device


@torch.inference_mode()
def encode_image(sam: Sam, image: np.ndarray) -> ImageEmbedding:
    """Run the image encoder once on an HxWx3 uint8 RGB image.

    Returns:
      ImageEmbedding with 1xCxhxw features.
    """
    geom = ModelGeometry.of(sam)
    frame = Frame.of(geom, image.shape[:2])
    resized = ResizeLongestSide(geom.img_size).apply_image(image)
    x = torch.as_tensor(resized, device=model_device(sam)).permute(2, 0, 1).contiguous()[None]
    features = sam.image_encoder(sam.preprocess(x.float()))
    if isinstance(features, (tuple, list)):  # encoders that also return intermediate features
        features = features[0]
    return ImageEmbedding(features=features, frame=frame)


def prompt_tensors(
    prompts: PromptSet, frame: Frame, device: torch.device
) -> tuple[tuple[torch.Tensor, torch.Tensor] | None, torch.Tensor | None, torch.Tensor | None]:
    """Convert a PromptSet to the prompt encoder's inputs, in the model's input frame.

    Coordinates are scaled in float64 and then rounded to float32, or, with
    ``prompts.coord_precision == "float32"``, rounded first and scaled in float32 as SAM's
    ``ResizeLongestSide.apply_coords_torch`` does (which the reference code uses).

    Returns:
      (points, boxes, masks): points as (BxPx2 coords, BxP labels) or None; boxes Bx4 or None;
      masks Bx1xGhxGw logits or None.
    """
    points = boxes = masks = None
    if prompts.coord_precision == "float32":
        to_input = frame.coords_to_input_float32
        boxes_to_input = frame.boxes_to_input_float32
    else:
        def to_input(c: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(frame.coords_to_input(c), dtype=torch.float32)

        def boxes_to_input(b: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(frame.boxes_to_input(b), dtype=torch.float32)
    if prompts.points is not None:
        coords = to_input(prompts.points)
        labels = torch.as_tensor(prompts.point_labels, dtype=torch.int64)
        points = (coords.to(device), labels.to(device))
    if prompts.boxes is not None:
        boxes = boxes_to_input(prompts.boxes).to(device)
    if prompts.mask_logits is not None:
        masks = torch.as_tensor(prompts.mask_logits, dtype=torch.float32)[:, None].to(device)
    return points, boxes, masks


def decode(
    sam: Sam,
    features: torch.Tensor,
    points: tuple[torch.Tensor, torch.Tensor] | None = None,
    boxes: torch.Tensor | None = None,
    masks: torch.Tensor | None = None,
    multimask_output: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One batched prompt-encoder + mask-decoder call for B prompt sets on one image.

    Gradients flow when the caller enables them (unlike ``Sam.forward``).

    Arguments:
      sam: a stock ``segment_anything`` Sam.
      features: 1xCxhxw image embedding.
      points: (BxPx2 coordinates in the input frame, BxP labels) or None.
      boxes: Bx4 XYXY boxes in the input frame, or None.
      masks: Bx1xGhxGw mask-prompt logits, or None.
      multimask_output: return 3 candidates (True) or 1.

    Returns:
      (low_res_logits BxKxGhxGw, iou_predictions BxK), K = 3 or 1.
    """
    sparse, dense = sam.prompt_encoder(points=points, boxes=boxes, masks=masks)
    return sam.mask_decoder(
        image_embeddings=features,
        image_pe=sam.prompt_encoder.get_dense_pe(),
        sparse_prompt_embeddings=sparse,
        dense_prompt_embeddings=dense,
        multimask_output=multimask_output,
    )


def upsample_logits(low_res: torch.Tensor, frame: Frame) -> torch.Tensor:
    """Low-resolution logits ...xGhxGw to the original image size ...xHxW.

    The same two bilinear steps as ``Sam.postprocess_masks``: up to the encoder's square input,
    crop the padding, then resize to the original size.
    """
    lead = low_res.shape[:-2]
    x = low_res.reshape(-1, 1, *low_res.shape[-2:]).float()
    s = frame.model.img_size
    x = F.interpolate(x, (s, s), mode="bilinear", align_corners=False)
    x = x[..., : frame.input_size[0], : frame.input_size[1]]
    x = F.interpolate(x, frame.original_size, mode="bilinear", align_corners=False)
    return x.reshape(*lead, *frame.original_size)
