"""Figures: an image with its coarse mask, the excavated prompts and the refined mask."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from .refiner import RefinementResult

COARSE_COLOUR = (1.0, 0.55, 0.0)
REFINED_COLOUR = (0.1, 0.6, 1.0)


def overlay(image: np.ndarray, mask: np.ndarray, colour: Sequence[float], alpha: float = 0.45,
            contour: bool = True) -> np.ndarray:
    """Blend a coloured mask (and its outline) into an HxWx3 uint8 image; returns float RGB."""
    out = image.astype(np.float32) / 255.0
    c = np.asarray(colour, np.float32)
    out[mask] = (1 - alpha) * out[mask] + alpha * c
    if contour and mask.any():
        inner = mask.copy()
        inner[1:, :] &= mask[:-1, :]
        inner[:-1, :] &= mask[1:, :]
        inner[:, 1:] &= mask[:, :-1]
        inner[:, :-1] &= mask[:, 1:]
        out[mask & ~inner] = c
    return np.clip(out, 0, 1)


def draw_prompts(ax: plt.Axes, result: RefinementResult, i: int,
                 show_tight: bool = True) -> None:
    """Draw mask ``i``'s points (green +, red -) and box (CEBox solid, tight box dashed)."""
    p = result.prompts
    if p.boxes is not None and not np.isnan(p.boxes[i]).any():
        x0, y0, x1, y1 = p.boxes[i]
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.6, ec="yellow"))
        if show_tight and p.expanded[i]:
            tx0, ty0, tx1, ty1 = p.tight_boxes[i]
            ax.add_patch(Rectangle((tx0, ty0), tx1 - tx0, ty1 - ty0, fill=False, lw=1.0,
                                   ec="white", ls="--"))
    if p.points is not None:
        for (x, y), lab in zip(p.points[i], p.point_labels[i], strict=True):
            if lab < 0:
                continue
            ax.plot(x, y, marker="*", ms=14, mec="black", mew=0.8,
                    color="lime" if lab == 1 else "red")


def plot_refinement(
    image: np.ndarray,
    result: RefinementResult,
    indices: Sequence[int] | None = None,
    ground_truth: np.ndarray | None = None,
    max_rows: int = 6,
    model: str | None = None,
) -> plt.Figure:
    """One row per mask: coarse mask + prompts, mask prompt on the model grid, refined mask.

    A legend under the panels names every glyph. With several iterations the prompts and the
    mask prompt shown are those of the last iteration (excavated from the previous iteration's
    mask, not from the coarse mask), and the panel titles say so.

    Arguments:
      image: HxWx3 uint8 image the result belongs to.
      result: output of :meth:`SAMRefiner.refine`.
      indices: which masks to show (default: the first ``max_rows``).
      ground_truth: optional NxHxW bool masks; their outline is drawn on the refined panel.
      max_rows: cap on rows when ``indices`` is omitted.
      model: the model's name, for the title.

    Returns:
      matplotlib Figure.
    """
    idx = list(indices) if indices is not None else list(range(min(len(result), max_rows)))
    ncols = 3 if result.prompts.mask_logits is not None else 2
    fig, axes = plt.subplots(len(idx), ncols, figsize=(4.2 * ncols, 3.6 * max(len(idx), 1)),
                             squeeze=False)
    its = result.config.iterations
    # Prompts of a later iteration come from the previous iteration's mask: say so.
    when = "" if its == 1 else f", iteration {its} of {its}"
    for row, i in zip(axes, idx, strict=True):
        row[0].imshow(overlay(image, result.coarse[i], COARSE_COLOUR))
        draw_prompts(row[0], result, i)
        row[0].set_title(f"mask {i}: coarse + prompts{when}", fontsize=10)
        col = 1
        if result.prompts.mask_logits is not None:
            g = result.prompts.mask_logits[i]
            lim = float(np.abs(g).max()) or 1.0
            im = row[1].imshow(g, cmap="RdBu_r", vmin=-lim, vmax=lim)
            row[1].set_title(f"mask prompt (model grid, logits){when}", fontsize=10)
            fig.colorbar(im, ax=row[1], fraction=0.046)
            col = 2
        row[col].imshow(overlay(image, result.masks[i], REFINED_COLOUR))
        if ground_truth is not None:
            row[col].contour(ground_truth[i], levels=[0.5], colors="white", linewidths=1.0)
        score = result.scores[i]
        title = "refined" if np.isnan(score) else f"refined (pred. IoU {score:.2f})"
        row[col].set_title(title, fontsize=10)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    who = f"model: {model}, " if model else ""
    fig.suptitle(f"SAMRefiner, {who}preset: {result.preset}", fontsize=11)
    handles = prompt_legend_handles(result, ground_truth is not None)
    # As few rows as fit two entries per panel column, the entries spread evenly over them.
    rows = -(-len(handles) // (2 * ncols))
    ncol = -(-len(handles) // rows)
    # Room under the panels for the legend's rows (in inches, whatever the figure's height).
    fig.tight_layout(rect=(0, (0.15 + 0.28 * rows) / fig.get_figheight(), 1, 1))
    # A grey frame: the white and yellow glyphs of the panels would vanish on white.
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=9,
               facecolor="0.6", framealpha=1.0, labelcolor="black")
    return fig


def prompt_legend_handles(result: RefinementResult, ground_truth: bool) -> list:
    """Legend entries for the glyphs :func:`draw_prompts` and :func:`plot_refinement` draw."""
    def star(colour: str, label: str) -> Line2D:
        return Line2D([], [], ls="", marker="*", ms=12, mec="black", mew=0.8, color=colour,
                      label=label)

    def line(colour: str, label: str, ls: str = "-", lw: float = 1.6) -> Line2D:
        return Line2D([], [], color=colour, ls=ls, lw=lw, label=label)

    def patch(colour: Sequence[float], label: str) -> Line2D:
        return Line2D([], [], ls="", marker="s", ms=10, color=colour, alpha=0.7, label=label)

    p = result.prompts
    out = [patch(COARSE_COLOUR, "coarse mask")]
    if p.points is not None:
        out.append(star("lime", "positive point"))
        if (np.asarray(p.point_labels) == 0).any():
            out.append(star("red", "negative point"))
    if p.boxes is not None:
        out.append(line("yellow", "box prompt (CEBox)" if result.config.use_cebox
                        else "box prompt"))
        if np.asarray(p.expanded).any():
            out.append(line("white", "tight box before CEBox", ls="--", lw=1.0))
    out.append(patch(REFINED_COLOUR, "refined mask"))
    if ground_truth:
        out.append(line("white", "ground truth outline", lw=1.0))
    return out
