"""Sizes and coordinate frames, all read from the model (never hard-coded).

``img_size`` is the encoder's square input (1024 for the official models), ``embedding_size`` the
image-embedding grid (64 x 64) and ``mask_input_size`` the mask-prompt grid (256 x 256). An image
of size H x W is resized so that its longest side is ``img_size`` (``input_size``), then padded to
a square at the bottom and right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from segment_anything.modeling import Sam
from segment_anything.utils.transforms import ResizeLongestSide


@dataclass(frozen=True)
class ModelGeometry:
    """The sizes a SAM model works with, read from its modules."""

    img_size: int
    embedding_size: tuple[int, int]
    mask_input_size: tuple[int, int]

    @classmethod
    def of(cls, sam: Sam) -> ModelGeometry:
        return cls(
            img_size=int(sam.image_encoder.img_size),
            embedding_size=tuple(int(v) for v in sam.prompt_encoder.image_embedding_size),
            mask_input_size=tuple(int(v) for v in sam.prompt_encoder.mask_input_size),
        )


@dataclass(frozen=True)
class Frame:
    """Geometry of one image in one model.

    Attributes:
      model: the model's sizes.
      original_size: (H, W) of the image.
      input_size: (h, w) after the longest-side resize to ``model.img_size``.
    """

    model: ModelGeometry
    original_size: tuple[int, int]
    input_size: tuple[int, int]

    @classmethod
    def of(cls, model: ModelGeometry, original_size: tuple[int, int]) -> Frame:
        h, w = original_size
        input_size = ResizeLongestSide.get_preprocess_shape(h, w, model.img_size)
        return cls(model, (int(h), int(w)), (int(input_size[0]), int(input_size[1])))

    @property
    def scale(self) -> tuple[float, float]:
        """(sx, sy): input pixels per original pixel along x and y."""
        return (
            self.input_size[1] / self.original_size[1],
            self.input_size[0] / self.original_size[0],
        )

    def coords_to_input(self, coords: np.ndarray) -> np.ndarray:
        """Map ...x2 (x, y) coordinates from the original image to the model input frame."""
        sx, sy = self.scale
        out = np.array(coords, dtype=np.float64, copy=True)
        out[..., 0] *= sx
        out[..., 1] *= sy
        return out

    def boxes_to_input(self, boxes: np.ndarray) -> np.ndarray:
        """Map ...x4 XYXY boxes from the original image to the model input frame."""
        return self.coords_to_input(np.asarray(boxes, dtype=np.float64).reshape(-1, 2, 2)).reshape(
            np.shape(boxes)
        )

    def coords_to_input_float32(self, coords: np.ndarray) -> torch.Tensor:
        """As :meth:`coords_to_input`, but in float32 like SAM's ``apply_coords_torch``.

        The coordinates are rounded to float32 first and each axis is multiplied by its scale
        in float32 (PyTorch rounds the Python scale to the tensor's dtype), which can differ in
        the last bit from scaling in float64 and rounding the product.

        Arguments:
          coords: ...x2 (x, y) coordinates in the original image.

        Returns:
          torch.Tensor: ...x2 float32 coordinates in the model's input frame.
        """
        out = torch.as_tensor(np.asarray(coords), dtype=torch.float32).clone()
        sx, sy = self.scale
        out[..., 0] = out[..., 0] * sx
        out[..., 1] = out[..., 1] * sy
        return out

    def boxes_to_input_float32(self, boxes: np.ndarray) -> torch.Tensor:
        """As :meth:`boxes_to_input`, in float32 (see :meth:`coords_to_input_float32`)."""
        b = np.asarray(boxes)
        return self.coords_to_input_float32(b.reshape(-1, 2, 2)).reshape(b.shape)
