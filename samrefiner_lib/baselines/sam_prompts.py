"""Plain-SAM prompt baselines, expressed as :class:`~samrefiner_lib.config.RefinerConfig`\\ s.

The paper compares SAMRefiner with SAM driven by one naive prompt taken from the coarse mask
(Table 1 and Table 2a). Each is a preset with recorded overrides, so its result label says
exactly what was switched off, e.g. ``paper (iterations=1, use_mask=False, ...)``:

* ``sam-box``: the tight box of the coarse mask, nothing else (no CEBox).
* ``sam-mask``: the raw binary coarse mask as SAM's mask prompt (``mask_form="binary"``:
  +amplitude inside, -amplitude outside), no point, no box.
* ``sam-center-point``: one positive point at the centre of the tight box (Table 2a's
  baseline; it may fall outside a concave mask), no negative point, no box, no mask.
* ``sam-point``: one positive distance-guided point (the method's point, alone).

All of them run one pass (``iterations=1``) and keep SAM's highest-predicted-IoU candidate,
as plain SAM does.
"""

from __future__ import annotations

from ..config import RefinerConfig, get_preset

PROMPT_BASELINES: dict[str, str] = {
    "sam-box": "plain SAM, tight box of the coarse mask only",
    "sam-mask": "plain SAM, raw binary coarse mask only",
    "sam-center-point": "plain SAM, one point at the tight box's centre only",
    "sam-point": "plain SAM, one distance-guided positive point only",
}
"""Name -> one-line description of each plain-SAM prompt baseline."""


def plain_sam_configs(base: str | RefinerConfig = "paper") -> dict[str, RefinerConfig]:
    """The plain-SAM prompt baselines as configurations derived from a preset.

    Arguments:
      base: preset name or configuration whose remaining settings (mask amplitude, grid
        mapping, chunk size) the baselines inherit.

    Returns:
      dict[str, RefinerConfig]: keyed by the names of :data:`PROMPT_BASELINES`.
    """
    cfg = get_preset(base) if isinstance(base, str) else base
    single = {"iterations": 1, "use_cebox": False}
    return {
        "sam-box": cfg.replace(use_point=False, use_box=True, use_mask=False, **single),
        "sam-mask": cfg.replace(use_point=False, use_box=False, use_mask=True,
                                mask_form="binary", **single),
        "sam-center-point": cfg.replace(use_point=True, use_negative_point=False,
                                        point_strategy="box_center", use_box=False,
                                        use_mask=False, **single),
        "sam-point": cfg.replace(use_point=True, use_negative_point=False,
                                 point_strategy="distance", use_box=False, use_mask=False,
                                 **single),
    }
