"""Median time to generate one synthetic scene.

Usage:
  python benchmarks/bench_synthetic.py [--n 200] [--size 256] [--style default] [--semantic]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from samrefiner_lib.synthetic import make_scene, make_semantic_scene, split_seeds


def main() -> None:
    """Generate n scenes from the train split and print the median and 90th percentile ms."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--style", default="default")
    parser.add_argument("--semantic", action="store_true")
    args = parser.parse_args()
    make = make_semantic_scene if args.semantic else make_scene
    make(0, size=args.size, style=args.style)  # warm-up: imports, OpenCV initialisation
    times = []
    for seed in split_seeds("train", args.n):
        t0 = time.perf_counter()
        make(seed, size=args.size, style=args.style)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000.0
    kind = "semantic" if args.semantic else "scene"
    print(
        f"{kind} {args.size}x{args.size} style={args.style}: n={args.n} "
        f"median {np.median(ms):.2f} ms, p90 {np.percentile(ms, 90):.2f} ms"
    )


if __name__ == "__main__":
    main()
