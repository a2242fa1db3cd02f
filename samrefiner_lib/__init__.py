"""samrefiner_lib: a reproduction of SAMRefiner (Lin et al., ICLR 2025).

Coarse masks in, better masks out: prompts excavated from each coarse mask (distance-guided
points, context-aware elastic boxes, Gaussian-style mask prompts) drive a stock Segment Anything
model. See ``SAMRefiner`` for the entry point and ``get_preset`` for the paper/reference presets.
"""

from .config import PRESETS, RefinerConfig, get_preset
from .decoding import ImageEmbedding, encode_image
from .io import InputError, load_image, load_masks, save_mask
from .models import CheckpointError, available_models, load_sam
from .refiner import RefinementResult, SAMRefiner
from .selectors import CoarseIoUSelector, OracleSelector, PredictedIoUSelector

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "CheckpointError",
    "CoarseIoUSelector",
    "ImageEmbedding",
    "InputError",
    "OracleSelector",
    "PredictedIoUSelector",
    "RefinementResult",
    "RefinerConfig",
    "SAMRefiner",
    "available_models",
    "encode_image",
    "get_preset",
    "load_image",
    "load_masks",
    "load_sam",
    "save_mask",
]
