"""``samrefiner refine-semantic``: refine the semantic label map (or CAMs) of one image."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..io import check_output_folder, load_image
from ..stm import (
    CONFLICT_RULES,
    DEFAULT_MIN_SIZE,
    DROPPED_RULES,
    MODES,
    MergeRule,
    load_cam,
    load_label_map,
    refine_semantic,
    save_label_map,
)
from .common import (
    add_model_args,
    add_preset_args,
    build_refiner,
    model_label,
    model_name,
    say,
    with_example,
)

#: First line of the help: runs as is (the demo files come from `samrefiner demo-data`).
EXAMPLE = ("samrefiner demo-data demo && samrefiner refine-semantic --image demo/image.png "
           "--labels demo/labels.png --out demo/semantic")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "refine-semantic", help="refine a semantic label map with split-then-merge",
        **with_example(
            EXAMPLE,
            "Refine the semantic label map of one image (a palette PNG, or class activation "
            "maps) with split-then-merge: per-class components, greedy merging, one batched "
            "SAMRefiner call, merge back. Writes the refined palette PNG, a JSON record and, "
            "with --viz, a figure.",
        ),
    )
    p.add_argument("--image", required=True, help="image file")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--labels", help="coarse label map: palette or 8-bit grayscale PNG of "
                                         "class indices (0 background, 255 ignore)")
    source.add_argument("--cam", help="class activation maps: .npy (a {'keys', 'cam'} "
                                      "dictionary or a CxHxW array) or .npz")
    p.add_argument("--cam-key", default="cam",
                   help="dictionary entry holding the KxHxW scores (default: cam)")
    p.add_argument("--key-base", type=int, choices=(0, 1), default=1,
                   help="1 if the CAM keys are class ids, 0 if 0-based foreground indices "
                        "(IRN files); default 1")
    p.add_argument("--cam-background", type=float, default=None,
                   help="fixed background score (default: 1 - max class score)")
    p.add_argument("--mode", choices=MODES, default="stm",
                   help="stm (split-then-merge, default), no_merge (one region per component) "
                        "or whole_class (one region per class)")
    p.add_argument("--mu", type=float, default=0.5, help="merge box-rule factor (default 0.5)")
    p.add_argument("--no-density", action="store_true",
                   help="merge without the density rule of the reference code")
    p.add_argument("--min-size", type=int, default=DEFAULT_MIN_SIZE,
                   help=f"drop components below this many pixels (default {DEFAULT_MIN_SIZE})")
    p.add_argument("--conflict", choices=CONFLICT_RULES, default="score",
                   help="pixels claimed by two classes go to the region with the higher "
                        "predicted IoU (score, default), keep the coarse label when it is a "
                        "claimant (coarse), or go to the smaller region (smaller)")
    p.add_argument("--dropped", choices=DROPPED_RULES, default="background",
                   help="class pixels no refined region claims become background (default) or "
                        "keep their coarse label (coarse)")
    p.add_argument("--out", required=True, help="output folder (created when missing)")
    p.add_argument("--viz", action="store_true", help="also write a figure")
    add_model_args(p)
    add_preset_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = check_output_folder(args.out, "--out")
    image = load_image(args.image, name="--image")
    shape = image.shape[:2]
    if args.labels is not None:
        coarse = load_label_map(args.labels, "--labels", shape=shape)
    else:
        coarse = load_cam(args.cam, cam_key=args.cam_key, key_base=args.key_base,
                          background=args.cam_background, shape=shape, name="--cam")
    rule = MergeRule(mu=args.mu, density=not args.no_density)
    label = model_label(args)
    say(f"loading model {label}")
    refiner = build_refiner(args)
    say(f"refining the {image.shape[1]}x{image.shape[0]} label map ({args.mode})")
    result = refine_semantic(image, coarse, refiner, args.mode, rule=rule,
                             min_size=args.min_size, conflict=args.conflict,
                             dropped=args.dropped)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(args.image).stem
    refined_path = save_label_map(result.labels, out / f"{stem}_refined.png")
    coarse_path = None
    if args.cam is not None:  # keep the decoded CAM labels: they are the baseline
        coarse_path = str(save_label_map(coarse, out / f"{stem}_coarse.png"))
    record = {
        "image": str(args.image),
        "labels": args.labels,
        "cam": args.cam,
        "cam_key": args.cam_key if args.cam is not None else None,
        "key_base": args.key_base if args.cam is not None else None,
        "cam_background": args.cam_background,
        "coarse_png": coarse_path,
        "refined_png": str(refined_path),
        # The model actually used: the default model when neither name nor file is given.
        "model": model_name(args),
        "checkpoint": args.checkpoint,
        **result.record(),
    }
    (out / "result.json").write_text(json.dumps(record, indent=2, allow_nan=False))
    if args.viz:
        from ..stm.viz import plot_semantic_refinement

        say("drawing the figure")
        fig = plot_semantic_refinement(image, result)
        fig.suptitle(f"STM ({result.mode}), model: {label}, preset: {result.preset}",
                     fontsize=11)
        fig.tight_layout()
        fig.savefig(out / f"{stem}_viz.png", dpi=110)
    print(f"refined {len(result.regions)} region(s) ({result.mode}) with model {label}, preset "
          f"{result.preset!r}; wrote {refined_path}")
    return 0
