"""SAM models: builders from the stock classes, the registry and checkpoint loading."""

from .builders import OFFICIAL_SPECS, TEST_SPEC, SamSpec, build_sam_from_spec
from .defaults import DEFAULT_MODEL, FAST_MODEL
from .embedded import EMBEDDED_SPEC
from .litemedsam import REAL_MODEL, build_litemedsam, register_litemedsam
from .registry import (
    CheckpointError,
    ModelEntry,
    available_models,
    file_md5,
    load_sam,
    read_checkpoint,
    register_model,
    register_shipped,
    save_checkpoint,
)

register_litemedsam()

__all__ = [
    "DEFAULT_MODEL",
    "EMBEDDED_SPEC",
    "FAST_MODEL",
    "REAL_MODEL",
    "OFFICIAL_SPECS",
    "TEST_SPEC",
    "CheckpointError",
    "ModelEntry",
    "SamSpec",
    "available_models",
    "build_litemedsam",
    "build_sam_from_spec",
    "file_md5",
    "load_sam",
    "read_checkpoint",
    "register_model",
    "register_shipped",
    "save_checkpoint",
]
