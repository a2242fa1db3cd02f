"""Held-out quality of a SAM on synthetic scenes with plain prompts (box, point).

This is the embedded model's acceptance test: the mean IoU with the ground truth of a single
jittered-box prompt (SAM's box noise) and of a single point, on test-split scenes that training
never sees. It runs through the same stock prompt encoder and mask decoder as the refiner.
"""

from __future__ import annotations

import numpy as np
import torch
from segment_anything.modeling import Sam
from tqdm.auto import tqdm

from ..decoding import decode, encode_image, upsample_logits
from ..synthetic import make_scene, split_seeds


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    u = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / u) if u else 1.0


def _jitter(box: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """SAM's box noise (std 10% of the side, at most 20 px), kept inside the image."""
    side = np.array([box[2] - box[0], box[3] - box[1]] * 2, dtype=np.float64).clip(min=1)
    out = box + np.clip(rng.normal(0, 0.1 * side), -20, 20)
    x0, x1 = sorted((out[0], out[2]))
    y0, y1 = sorted((out[1], out[3]))
    return np.array([max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)])


@torch.inference_mode()
def evaluate_plain_prompts(
    sam: Sam,
    n_scenes: int = 100,
    split: str = "test",
    style: str = "default",
    size: int | tuple[int, int] = 256,
    progress: bool = False,
) -> dict[str, float]:
    """Mean IoU of single-prompt predictions on synthetic scenes.

    Arguments:
      sam: the model.
      n_scenes: number of scenes (all their instances are evaluated).
      split: seed split (``"test"`` for acceptance numbers).
      style: scene style.
      size: scene size.

    Returns:
      dict with ``box_single`` (single-output mask), ``box_multi`` (best predicted IoU of the 3
      candidates), ``point_multi``, ``box_oracle`` (best of 3 by true IoU), and ``objects``.
    """
    scores: dict[str, list[float]] = {"box_single": [], "box_multi": [], "point_multi": [],
                                      "box_oracle": []}
    dev = next(sam.parameters()).device
    for seed in tqdm(split_seeds(split, n_scenes), disable=not progress, desc="evaluate"):
        scene = make_scene(int(seed), size=size, style=style)
        rng = np.random.default_rng([int(seed), 7])
        emb = encode_image(sam, scene.image)
        frame = emb.frame
        h, w = scene.image.shape[:2]
        for gt in scene.instances:
            ys, xs = np.nonzero(gt)
            box = _jitter(np.array([xs.min(), ys.min(), xs.max(), ys.max()], float), h, w, rng)
            b = torch.as_tensor(frame.boxes_to_input(box[None]), dtype=torch.float32, device=dev)
            k = int(rng.integers(len(ys)))
            pt = torch.as_tensor(frame.coords_to_input(np.array([[[xs[k], ys[k]]]], float)),
                                 dtype=torch.float32, device=dev)
            lab = torch.ones((1, 1), dtype=torch.int64, device=dev)
            single, _ = decode(sam, emb.features, boxes=b, multimask_output=False)
            multi, iou_b = decode(sam, emb.features, boxes=b, multimask_output=True)
            pmulti, iou_p = decode(sam, emb.features, points=(pt, lab), multimask_output=True)
            m_single = (upsample_logits(single[0, 0], frame) > 0).cpu().numpy()
            m_multi = (upsample_logits(multi[0], frame) > 0).cpu().numpy()
            m_point = (upsample_logits(pmulti[0], frame) > 0).cpu().numpy()
            ious_multi = [_iou(m, gt) for m in m_multi]
            scores["box_single"].append(_iou(m_single, gt))
            scores["box_multi"].append(ious_multi[int(iou_b[0].argmax())])
            scores["box_oracle"].append(max(ious_multi))
            scores["point_multi"].append(_iou(m_point[int(iou_p[0].argmax())], gt))
    out = {k: float(np.mean(v)) if v else float("nan") for k, v in scores.items()}
    out["objects"] = len(scores["box_single"])
    return out
