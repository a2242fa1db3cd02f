"""Pictures of generated scenes: instance and part overlays, and a grid of examples.

Matplotlib is imported only inside ``plot_examples`` so that generating scenes never needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from .classes import CLASS_NAMES
from .scenes import Scene, make_scene, make_semantic_scene


def _distinct_colours(n: int, offset: float = 0.0) -> np.ndarray:
    """n well-separated RGB colours (golden-ratio hue steps), (n, 3) float32 in [0, 1]."""
    hues = (offset + np.arange(n) * 0.618034) % 1.0
    hsv = np.stack([hues * 180, np.full(n, 200), np.full(n, 255)], 1).astype(np.uint8)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2RGB)[0].astype(np.float32) / 255.0


def _overlay(image: np.ndarray, masks: np.ndarray, colours: np.ndarray, alpha: float) -> np.ndarray:
    """Blend coloured masks onto an image and draw their outlines.

    Arguments:
      image: HxWx3 uint8.
      masks: KxHxW bool, disjoint.
      colours: (K, 3) float32 in [0, 1].
      alpha: fill opacity.

    Returns:
      np.ndarray: HxWx3 uint8.
    """
    out = image.astype(np.float32) / 255.0
    for mask, colour in zip(masks, colours, strict=True):
        out[mask] = (1 - alpha) * out[mask] + alpha * colour
    for mask, colour in zip(masks, colours, strict=True):
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, tuple(float(c) for c in colour), 1)
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)


def overlay_instances(scene: Scene, alpha: float = 0.5) -> np.ndarray:
    """The scene image with each instance filled and outlined in its own colour.

    Arguments:
      scene: a generated scene.
      alpha: fill opacity.

    Returns:
      np.ndarray: HxWx3 uint8.
    """
    return _overlay(scene.image, scene.instances, _distinct_colours(len(scene)), alpha)


def overlay_parts(scene: Scene, alpha: float = 0.6) -> np.ndarray:
    """The scene image with every part of every instance in its own colour.

    Arguments:
      scene: a generated scene.
      alpha: fill opacity.

    Returns:
      np.ndarray: HxWx3 uint8.
    """
    masks = np.concatenate(scene.parts, 0)
    return _overlay(scene.image, masks, _distinct_colours(len(masks), 0.3), alpha)


def plot_examples(
    seeds: Sequence[int],
    style: str = "default",
    ax_grid: Any = None,
    semantic: bool = False,
    size: int | tuple[int, int] = 256,
) -> Any:
    """Draw example scenes, one row per seed: image, instances, parts, semantic map.

    Arguments:
      seeds: scene seeds.
      style: style name.
      ax_grid: a 2-D array of matplotlib Axes with one row per seed; its columns are filled in
        the order image, instance overlay, part overlay, semantic map (as many as there are
        columns, at most 4). None creates a figure with all four.
      semantic: use ``make_semantic_scene`` instead of ``make_scene``.
      size: image size passed to the generator.

    Returns:
      The 2-D array of Axes that was drawn on.
    """
    import matplotlib.pyplot as plt

    if ax_grid is None:
        _, ax_grid = plt.subplots(len(seeds), 4, figsize=(8, 2 * len(seeds)), squeeze=False)
    ax_grid = np.asarray(ax_grid, dtype=object).reshape(len(seeds), -1)
    make = make_semantic_scene if semantic else make_scene
    palette = np.concatenate([[[0, 0, 0]], _distinct_colours(len(CLASS_NAMES) - 1, 0.1)])
    for row, seed in zip(ax_grid, seeds, strict=True):
        scene = make(seed, size=size, style=style)
        names = ", ".join(CLASS_NAMES[c] for c in scene.labels)
        panels = [
            (scene.image, f"seed {seed} ({style})"),
            (overlay_instances(scene), f"{len(scene)} inst: {names}"),
            (overlay_parts(scene), f"{sum(len(p) for p in scene.parts)} parts"),
            (palette[scene.semantic], "semantic"),
        ]
        for ax, (picture, title) in zip(row, panels, strict=False):
            ax.imshow(picture, interpolation="nearest")
            ax.set_title(title, fontsize=6)
            ax.set_axis_off()
    return ax_grid
