"""Figure of a semantic refinement: image, coarse labels, the regions SAM refined, result."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..datasets.voc import voc_palette
from .label_maps import BACKGROUND
from .semantic import SemanticRefinement


def colour_labels(image: np.ndarray, labels: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """Blend VOC palette colours of the non-background labels into an HxWx3 uint8 image.

    Arguments:
      image: HxWx3 uint8 RGB.
      labels: HxW uint8 label map (255 ignore is drawn in the palette's light grey).
      alpha: opacity of the label colours.

    Returns:
      np.ndarray: HxWx3 float RGB in [0, 1].
    """
    out = image.astype(np.float32) / 255.0
    colours = voc_palette().astype(np.float32)[labels] / 255.0
    fg = labels != BACKGROUND
    out[fg] = (1.0 - alpha) * out[fg] + alpha * colours[fg]
    return out


def plot_semantic_refinement(
    image: np.ndarray,
    refinement: SemanticRefinement,
    class_names: Sequence[str] | None = None,
    gt: np.ndarray | None = None,
    ncols: int = 3,
    panel_size: float = 4.0,
    title: str | None = None,
) -> Figure:
    """Four (or five, with ground truth) panels of one refined label map.

    Arguments:
      image: HxWx3 uint8 RGB image.
      refinement: the output of ``refine_semantic`` for this image.
      class_names: names indexed by class id, for the region captions.
      gt: optional HxW ground-truth label map, drawn last.
      ncols: panels per row (few per row keep them large when a page scales the figure down
        to its text width).
      panel_size: side of one panel in inches.
      title: optional figure title (e.g. the model and preset that refined it).

    Returns:
      matplotlib Figure
    """
    panels = 5 if gt is not None else 4
    ncols = max(1, min(ncols, panels))
    nrows = -(-panels // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, panel_size * nrows + 0.4),
                             squeeze=False)
    axes = grid.ravel()
    axes[0].imshow(image)
    axes[0].set_title("image")
    axes[1].imshow(colour_labels(image, refinement.coarse))
    axes[1].set_title("coarse labels")
    regions = refinement.regions
    rng = np.random.default_rng(0)  # fixed colours: the same figure every run
    tint = rng.uniform(0.2, 1.0, (max(len(regions), 1), 3))
    shown = image.astype(np.float32) / 255.0 * 0.5
    for r in range(len(regions)):
        shown[regions.region_map == r] = tint[r]
    axes[2].imshow(shown)
    for r, (x0, y0, x1, y1) in enumerate(regions.boxes):
        axes[2].add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0 + 1, y1 - y0 + 1, fill=False,
                                    lw=1.2, ec=tint[r]))
        cls = int(regions.classes[r])
        name = class_names[cls] if class_names is not None and cls < len(class_names) else cls
        score = refinement.scores[r]
        axes[2].text(x0, y0, f"{name} {score:.2f}" if np.isfinite(score) else f"{name}",
                     color="white", fontsize=9, va="top",  # inside the box: never cut
                     bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "lw": 0})
    axes[2].set_title(f"{len(regions)} regions ({regions.mode})")
    axes[3].imshow(colour_labels(image, refinement.labels))
    axes[3].set_title(f"refined ({refinement.preset})")
    if gt is not None:
        axes[4].imshow(colour_labels(image, gt))
        axes[4].set_title("ground truth")
    for ax in axes:
        ax.set_axis_off()
        ax.title.set_fontsize(14)
    if title:
        fig.suptitle(title, fontsize=14)
    fig.tight_layout()
    return fig
