"""``samrefiner refine``: refine the coarse masks of one image."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..evaluation.provenance import model_record
from ..io import InputError, check_output_folder, load_image, load_masks, save_mask
from .common import (
    add_adaptor_args,
    add_model_args,
    add_preset_args,
    build_refiner,
    model_label,
    model_name,
    say,
    with_example,
)

#: First line of the help: runs as is (the demo files come from `samrefiner demo-data`).
EXAMPLE = ("samrefiner demo-data demo && samrefiner refine --image demo/image.png "
           "--mask demo/coarse_1.png --mask demo/coarse_2.png --out demo/refined --viz")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "refine", help="refine coarse masks of one image",
        **with_example(
            EXAMPLE,
            "Refine one or more coarse masks (0/255 PNGs) of one image and write the refined "
            "masks (<mask stem>_refined.png; masks that share a file name get their --mask "
            "position added, <stem>_<i>_refined.png), a JSON record mapping each input to its "
            "output and, with --viz, a figure.",
        ),
    )
    p.add_argument("--image", required=True, help="image file")
    p.add_argument("--mask", action="append", required=True, dest="masks",
                   help="coarse mask PNG: grayscale 0/255 or 0/1; a palette PNG is read by "
                        "index (0 background, one other index the object); repeat for several "
                        "masks")
    p.add_argument("--out", required=True, help="output folder (created when missing)")
    p.add_argument("--viz", action="store_true", help="also write a figure of the prompts")
    add_model_args(p)
    add_preset_args(p)
    add_adaptor_args(p)
    p.set_defaults(func=run)


def _jsonable(a: np.ndarray | None) -> list | None:
    """Array to nested lists with NaN as null (empty masks have no prompts)."""
    if a is None:
        return None
    return [_jsonable(x) if isinstance(x, np.ndarray) else (None if np.isnan(x) else x.item())
            for x in a] if a.ndim > 1 else [None if np.isnan(x) else x.item() for x in a]


def output_names(masks: list[str]) -> list[str]:
    """One refined-mask file name per ``--mask``, distinct even when inputs share a name.

    ``<stem>_refined.png``; masks whose stems repeat (``a/obj.png``, ``b/obj.png``, or one file
    given twice) get their position among the ``--mask`` options: ``obj_0_refined.png``,
    ``obj_1_refined.png``.

    Arguments:
      masks: the ``--mask`` paths in order.

    Returns:
      list[str]: file names, one per mask, all different.
    """
    stems = [Path(m).stem for m in masks]
    # Case-folded: Obj.png and obj.png are one file on case-insensitive file systems.
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem.casefold()] = counts.get(stem.casefold(), 0) + 1
    names = [f"{stem}_{i}_refined.png" if counts[stem.casefold()] > 1 else f"{stem}_refined.png"
             for i, stem in enumerate(stems)]
    folded = [n.casefold() for n in names]
    if len(set(folded)) != len(folded):  # e.g. a/x.png, b/x.png and a mask named x_0.png
        clash = sorted({n for n, f in zip(names, folded, strict=True) if folded.count(f) > 1})
        raise InputError(
            f"--mask: the masks {masks} would give the same output name ({', '.join(clash)}); "
            "rename one of them"
        )
    return names


def run(args: argparse.Namespace) -> int:
    out = check_output_folder(args.out, "--out")
    names = output_names(args.masks)
    image = load_image(args.image, name="--image")
    masks = load_masks(args.masks, image.shape[:2], name="--mask")
    model, label = model_name(args), model_label(args)
    say(f"loading model {label}")
    refiner = build_refiner(args)
    say(f"encoding the {image.shape[1]}x{image.shape[0]} image and refining {len(masks)} "
        f"mask(s) with preset {refiner.config.describe()!r}")
    result = refiner.refine(image, masks)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, mask in zip(names, result.masks, strict=True):
        target = out / name
        save_mask(mask, target)
        written.append(str(target))
    record = {
        "image": str(args.image),
        "masks": [str(m) for m in args.masks],
        "refined": written,
        "outputs": [{"index": i, "mask": str(m), "refined": w}
                    for i, (m, w) in enumerate(zip(args.masks, written, strict=True))],
        "model": model,
        "checkpoint": args.checkpoint,
        # The weights file actually loaded (shipped weights included) and its MD5.
        "weights": model_record(model, args.checkpoint, args.device),
        "adaptor": args.adaptor,
        "preset": result.preset,
        "config": result.config.to_dict(),
        "selector": result.selector,
        "scores": _jsonable(result.scores.astype(np.float64)),
        "selected": result.selected.tolist(),
        "accepted": result.accepted.tolist(),
        "iou_predictions": _jsonable(result.iou_predictions.astype(np.float64)),
        "boxes": _jsonable(result.prompts.boxes),
        "points": _jsonable(result.prompts.points),
        "point_labels": None if result.prompts.point_labels is None
        else result.prompts.point_labels.tolist(),
        "cebox_expanded": result.prompts.expanded.tolist(),
    }
    (out / "result.json").write_text(json.dumps(record, indent=2, allow_nan=False))
    if args.viz:
        from ..viz import plot_refinement

        say("drawing the figure")
        fig = plot_refinement(image, result, model=label)
        fig.savefig(out / f"{Path(args.image).stem}_viz.png", dpi=110)
    print(f"refined {len(written)} mask(s) with model {label}, preset {result.preset!r}; "
          f"wrote {out}")
    return 0
