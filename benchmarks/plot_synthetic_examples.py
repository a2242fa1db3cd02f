"""Write a PNG grid of example synthetic scenes with instance, part and semantic overlays.

Usage:
  python benchmarks/plot_synthetic_examples.py OUT.png [--rows 6] [--start 0]

Left block: ``make_scene`` in the default style. Right block: the shifted style (top half) and
``make_semantic_scene`` (bottom half). Seeds come from the validation split.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from samrefiner_lib.synthetic import plot_examples, split_seeds  # noqa: E402


def main() -> None:
    """Parse arguments, draw the grid and save it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="output PNG path")
    parser.add_argument("--rows", type=int, default=6, help="scenes per block (even)")
    parser.add_argument("--start", type=int, default=0, help="offset into the val seeds")
    args = parser.parse_args()
    rows = max(2, args.rows - args.rows % 2)
    seeds = split_seeds("val", 2 * rows, start=args.start)
    fig, axes = plt.subplots(rows, 8, figsize=(16, 2.1 * rows), squeeze=False)
    plot_examples(seeds[:rows], "default", axes[:, :4])
    half = rows // 2
    plot_examples(seeds[rows : rows + half], "shifted", axes[:half, 4:])
    plot_examples(seeds[rows + half :], "default", axes[half:, 4:], semantic=True)
    for ax in axes[half:, 4]:
        ax.set_title(ax.get_title() + " semantic", fontsize=6)
    fig.tight_layout(pad=0.3)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
