"""A persistent on-disk cache of image embeddings, keyed by encoder and image content.

Encoding dominates the cost of refinement with a frozen encoder (LiteMedSAM's TinyViT takes
about 2 s per image on a 2-core CPU, its decoder milliseconds per mask), and the same images are
encoded again by every notebook, benchmark and training run. The cache stores the encoder's
exact float32 output, so a result computed through it equals one computed without it.

Layout: ``<root>/<encoder fingerprint>/<first 2 hex of image key>/<image key>.pt``. The
fingerprint hashes the encoder's weights, its input size and the pixel normalisation, so
re-trained or different encoders never share entries; the image key hashes the decoded RGB
pixels and their shape. Files are written atomically (temporary file, then rename), so a killed
run leaves no partial entry. The whole folder is safe to delete at any time.

The default root is ``$SAMREFINER_CACHE/embeddings`` when that variable is set, else
``~/.cache/samrefiner/embeddings``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from segment_anything.modeling import Sam

from .decoding import ImageEmbedding, encode_image, model_device
from .geometry import Frame, ModelGeometry

CACHE_ENV = "SAMREFINER_CACHE"


def default_cache_root() -> Path:
    """``$SAMREFINER_CACHE/embeddings`` or ``~/.cache/samrefiner/embeddings``."""
    base = os.environ.get(CACHE_ENV)
    root = Path(base) if base else Path.home() / ".cache" / "samrefiner"
    return root / "embeddings"


def encoder_fingerprint(sam: Sam) -> str:
    """16 hex digits identifying the image encoder's weights, input size and normalisation."""
    h = hashlib.sha256()
    h.update(f"img_size={int(sam.image_encoder.img_size)}".encode())
    for t in (sam.pixel_mean, sam.pixel_std):
        h.update(t.detach().float().cpu().numpy().tobytes())
    for name, value in sorted(sam.image_encoder.state_dict().items()):
        h.update(name.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def image_key(image: np.ndarray) -> str:
    """Hex SHA-256 of an HxWx3 uint8 image's shape and pixels."""
    arr = np.ascontiguousarray(image)
    h = hashlib.sha256(f"{arr.shape}|{arr.dtype}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


class EmbeddingCache:
    """Encodes images through ``sam``'s encoder once and keeps the results on disk.

    Arguments:
      sam: the model whose encoder is cached.
      root: cache folder (default :func:`default_cache_root`).

    Attributes:
      hits, misses: counts since creation.
    """

    def __init__(self, sam: Sam, root: str | os.PathLike | None = None) -> None:
        self.sam = sam
        self.root = Path(root) if root is not None else default_cache_root()
        self.fingerprint = encoder_fingerprint(sam)
        self.folder = self.root / self.fingerprint
        self.hits = 0
        self.misses = 0

    def path(self, image: np.ndarray) -> Path:
        key = image_key(image)
        return self.folder / key[:2] / f"{key}.pt"

    def features(self, image: np.ndarray) -> torch.Tensor:
        """1xCxhxw float32 features of an HxWx3 uint8 image (from disk when cached)."""
        path = self.path(image)
        if path.is_file():
            try:
                feats = torch.load(path, map_location="cpu", weights_only=True)
                self.hits += 1
                return feats
            except Exception:  # noqa: BLE001 - a damaged entry is re-encoded and replaced
                path.unlink(missing_ok=True)
        feats = encode_image(self.sam, image).features.detach().float().cpu()
        self.misses += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
        torch.save(feats.contiguous(), tmp)
        os.replace(tmp, path)
        return feats

    def encode(self, image: np.ndarray) -> ImageEmbedding:
        """Like :func:`samrefiner_lib.decoding.encode_image`, through the cache."""
        feats = self.features(image).to(model_device(self.sam))
        frame = Frame.of(ModelGeometry.of(self.sam), image.shape[:2])
        return ImageEmbedding(features=feats, frame=frame)
