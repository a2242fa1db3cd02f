"""Tables 3 and 6 analogue: instance masks in COCO format, mask AP and boundary AP.

The paper refines the masks of instance-segmentation models (PointWSSIS, Mask R-CNN, SOLO) and
scores them with COCO mask AP (and, on LVIS annotations, boundary-aware AP). Here the
"detections" are ground-truth instances whose masks are degraded as a Mask R-CNN head would
produce them (box-local 28 x 28 masks, :func:`samrefiner_lib.defects.lowres_coarse_mask`), with
detector-like confidences; refinement changes the masks only, never the scores or classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..config import RefinerConfig, get_preset
from ..defects import davis585_coarse_mask, lowres_coarse_mask
from ..metrics import coco_boundary_ap, coco_mask_ap, masks_to_coco, masks_to_results
from ..refiner import SAMRefiner
from ..reporting import RunLabel, captioned, paper_numbers, with_paper
from ..synthetic import CLASS_NAMES, make_scene, split_seeds
from .common import Settings

#: The paper's AP gain for input masks like each protocol's (id in ``paper_numbers.csv``, where
#: it comes from): box-local 28 x 28 masks are Mask R-CNN's, the noisier DAVIS-585 masks stand in
#: for weakly supervised ones.
PAPER_GAINS: dict[str, tuple[str, str]] = {
    "lowres": ("t6_maskrcnn", "Table 6, Mask R-CNN masks scored on LVIS annotations"),
    "davis585": ("t3_pointwssis", "Table 3, PointWSSIS masks (1% of COCO's labels)"),
}
#: What each protocol's detections look like, to open a table's caption.
PROTOCOL_TITLES = {
    "lowres": "Low-resolution detections (box-local 28 x 28 masks, as from Mask R-CNN)",
    "davis585": "DAVIS-585-protocol detections (noisier masks, IoU 0.75-0.85)",
}


def _degrade(mask: np.ndarray, rng: np.random.Generator, protocol: str) -> np.ndarray:
    if protocol == "lowres":
        return lowres_coarse_mask(mask, rng)
    if protocol == "davis585":
        return davis585_coarse_mask(mask, rng)[0]
    raise ValueError(f"unknown protocol {protocol!r}; expected lowres or davis585")


def instance_set(n_images: int, split: str = "test", seed: int = 0, size: int = 256,
                 protocol: str = "lowres") -> list[dict]:
    """Synthetic images with ground-truth instances and degraded "detections".

    Arguments:
      protocol: ``"lowres"`` (Mask R-CNN-like 28 x 28 masks) or ``"davis585"`` (noisier masks
        with IoU 0.75-0.85, like weakly supervised instance masks).

    Returns:
      list of dicts with image, gt (NxHxW), labels (N,), coarse (NxHxW), scores (N,).
    """
    out = []
    for k, scene_seed in enumerate(split_seeds(split, n_images)):
        scene = make_scene(int(scene_seed), size=size)
        rng = np.random.default_rng([seed, k])
        coarse = np.stack([_degrade(m, rng, protocol) for m in scene.instances])
        scores = rng.uniform(0.3, 1.0, len(coarse))
        out.append({"image": scene.image, "gt": scene.instances, "labels": scene.labels,
                    "coarse": coarse, "scores": scores, "name": f"{split}-{scene_seed}"})
    return out


def real_instance_set(samples: Sequence, seed: int = 0, protocol: str = "lowres") -> list[dict]:
    """Real samples (one category) with degraded "detections" of their ground truth."""
    out = []
    for k, s in enumerate(samples):
        rng = np.random.default_rng([seed, k])
        gt = s.gt & ~s.ignore if s.ignore is not None else s.gt
        coarse = np.stack([_degrade(m, rng, protocol) if m.any() else m for m in gt])
        out.append({"image": s.image, "gt": gt, "labels": np.ones(len(gt), int),
                    "coarse": coarse, "scores": rng.uniform(0.3, 1.0, len(gt)), "name": s.name})
    return out


def ap_table(items: Sequence[dict], refiner: SAMRefiner, settings: Settings, data: str,
             configs: dict[str, RefinerConfig] | None = None,
             categories: dict[int, str] | None = None) -> pd.DataFrame:
    """Mask AP and boundary AP of the coarse detections and of each refined version.

    Returns:
      DataFrame indexed by method with AP, AP50, AP75, boundary AP and boundary AP50 (in %).
    """
    configs = configs if configs is not None else {
        "SAMRefiner (paper)": get_preset("paper"),
        "SAMRefiner (reference)": get_preset("reference"),
    }
    cats = categories or {i: n for i, n in enumerate(CLASS_NAMES) if i > 0}
    gt = masks_to_coco([(it["image"].shape[:2], it["gt"], it["labels"]) for it in items], cats)
    results: dict[str, list] = {"coarse": [], **{k: [] for k in configs}}
    for img_id, it in enumerate(items, start=1):
        results["coarse"] += masks_to_results(img_id, it["coarse"], it["labels"], it["scores"])
        emb = refiner.encode(it["image"])
        for name, cfg in configs.items():
            refined = refiner.refine_masks(emb, it["coarse"], cfg).masks
            results[name] += masks_to_results(img_id, refined, it["labels"], it["scores"])
    rows = []
    for name, res in results.items():
        m = coco_mask_ap(gt, res)
        b = coco_boundary_ap(gt, res)
        rows.append({"method": name,
                     "configuration": configs[name].describe() if name in configs else "input",
                     "AP": m["AP"], "AP50": m["AP50"], "AP75": m["AP75"],
                     "boundary AP": b["AP"], "boundary AP50": b["AP50"]})
    table = pd.DataFrame(rows).set_index("method")
    table.attrs["label"] = str(RunLabel(settings.scale.name, settings.model_label, data,
                                        "/".join(sorted({c.preset for c in configs.values()}))))
    return table


def book_table(table: pd.DataFrame, protocol: str, precision: int = 1):
    """An :func:`ap_table` for the book: our AP gain over the input and the paper's beside it on
    the refined rows, the run label (with the protocol) as the caption, no configuration column.

    Arguments:
      table: the output of :func:`ap_table`.
      protocol: the detections' protocol (a key of :data:`PAPER_GAINS`).
      precision: decimals shown.

    Returns:
      pandas Styler
    """
    number_id, source = PAPER_GAINS[protocol]
    reported = paper_numbers()
    gain = reported.loc[reported["id"] == number_id, "value_text"].iloc[0]
    t = table.drop(columns="configuration")
    t.insert(1, "AP gain", t["AP"] - t.loc["coarse", "AP"])
    t = with_paper(t, {k: gain for k in t.index if k != "coarse"}, column="paper AP gain")
    return captioned(t, f"{PROTOCOL_TITLES[protocol]}: COCO AP (%). {table.attrs['label']}. "
                        f"Paper AP gain: ViT-H, {source}.", precision=precision)
