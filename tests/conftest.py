"""Shared fixtures: a tiny randomly initialised SAM built from the stock classes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from samrefiner_lib.models import TEST_SPEC, build_sam_from_spec, save_checkpoint

# One thread: the tiny test models run small ops, which two contending threads slow down a lot.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _restore_threads():
    """Commands under test may set their own thread count (--threads); undo it after each test."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_sam():
    """A 64 px SAM with random (seeded) weights: real architecture, milliseconds per call."""
    return build_sam_from_spec(TEST_SPEC, seed=0)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A checkpoint file of the tiny SAM that names its own architecture."""
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_checkpoint(build_sam_from_spec(TEST_SPEC, seed=0), TEST_SPEC, path)
    return path


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def disk(h: int, w: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


@pytest.fixture()
def scene(rng):
    """A 90x120 noisy image with two disks and their masks."""
    img = (rng.random((90, 120, 3)) * 60).astype(np.uint8)
    m1 = disk(90, 120, 40, 40, 18)
    m2 = disk(90, 120, 50, 90, 12)
    img[m1] += np.uint8(150)
    img[m2, 1] += np.uint8(180)
    return img, np.stack([m1, m2])
