"""Refiner configuration and the named presets (METHOD.md section 5).

Every switch of the ablations is a field of :class:`RefinerConfig`, so each row of Tables 1 and 2
is one configuration. The paper and the reference code disagree on several settings; the two
presets record each side, and :meth:`RefinerConfig.describe` names the preset plus any field that
was changed, so every result can say what produced it.

========================  =====================  ========================  ======================
field                     ``paper``              ``reference``             ``safe``
========================  =====================  ========================  ======================
mask_form                 paper (spatial)        reference (distance)      as ``paper``
mask_amplitude            15 (omega)             30 (strength)             as ``paper``
mask_gamma                4                      4                         as ``paper``
grid_mapping              area                   reference (bilinear)      as ``paper``
use_cebox                 True, lambda 0.1       False                     as ``paper``
cebox_rounds              3                      1                         as ``paper``
iterations                1                      5                         as ``paper``
expanded_mask_amplitude   None (no drop)         1.0                       as ``paper``
distance                  exact (Euclidean)      raster2 (FastGeodis)      as ``paper``
negative_region           box                    reference                 as ``paper``
cebox_rules               clean                  reference                 as ``paper``
amplitude_from_last_mask  False (per mask)       True                      as ``paper``
resize_backend            opencv                 torch                     as ``paper``
coord_precision           float64                float32                   as ``paper``
accept_min_coarse_iou     None (off)             None (off)                None (off)
accept_min_score          None (off)             None (off)                0.9
========================  =====================  ========================  ======================

``cebox_rounds`` and ``iterations`` are not stated in the paper: the values above are this
project's choices for the ``paper`` preset. In the reference code the mask-prompt amplitude
drops to 1 for a mask whose box CEBox expanded (a less trusted mask); the paper does not
describe this, so only the ``reference`` preset does it (where CEBox is off by default, so it
shows only when CEBox is switched on). The reference code applies the last mask's flag to all
masks of a call, which is a bug: here the flag is applied per mask unless
``amplitude_from_last_mask`` asks for the reference code's behaviour.

The six fields from ``distance`` to ``coord_precision`` exist so that the ``reference`` preset
reproduces the reference code mask for mask; each is a detail of that code, not of the method,
and the ``paper`` preset keeps the exact or clean version:

* ``distance``: ``"exact"`` Euclidean distance transform, or ``"raster2"``, the reference code's
  FastGeodis call (two raster-scan iterations of a chamfer distance with steps 1 and sqrt 2,
  written here in numpy, see :func:`~samrefiner_lib.distance.raster_distances`). It moves the
  positive and negative points and the centre of the reference-form Gaussian (the distance
  maxima), by a median of about 2 px and much more along flat ridges.
* ``negative_region``: ``"box"`` searches the whole tight box for the negative point and gives
  none when it holds no background; ``"reference"`` searches it end-exclusively (its last row and
  column never, an off-by-one there) and falls back to pixel (0, 0) as a negative point.
* ``cebox_rules``: ``"clean"`` or ``"reference"`` strips and rounding for CEBox (embedding part
  ``int(cells * W / H)`` wide from the original size, strips ``y0:y1`` and ``x1:x1+step``,
  ``int(x - step)`` rounding, no expansion that would reach row/column 0 or the far edge, and
  lambda 0 meaning off); see :mod:`samrefiner_lib.prompts.cebox`.
* ``amplitude_from_last_mask``: the expanded-mask amplitude decided by the last mask of the
  image for every mask (the reference code's loop assigns to the whole batch).
* ``resize_backend``: ``"opencv"`` or ``"torch"`` resizing onto the mask-input grid
  (``"torch"`` only with ``grid_mapping="reference"``); ``"torch"`` also evaluates the
  reference-form Gaussian in float32 torch arithmetic. The +-1 mask map is exactly 0 halfway
  between foreground and background, so last-bit differences decide grid cells' signs.
* ``coord_precision``: scaling of point and box coordinates into the model's input frame in
  ``"float64"`` or, as SAM's ``apply_coords_torch`` does, in ``"float32"``.

With 5 iterations each small difference is fed back and compounds, which is why each matters.

The ``safe`` preset is not from the paper: it is ``paper`` plus an acceptance rule for
pseudo-label pipelines, which must never lose a usable coarse mask. A refined mask is kept only
if it overlaps its coarse mask enough (``accept_min_coarse_iou``) and, optionally, if SAM's
predicted IoU for it is high enough (``accept_min_score``); otherwise the coarse mask is kept
(with several iterations, the mask that iteration started from). Both are off in ``paper``
and ``reference``. The rule of ``safe`` is :data:`SAFE_MIN_SCORE`, chosen on validation data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

PointStrategy = Literal["distance", "box_center", "centroid"]
MaskForm = Literal["paper", "reference", "binary"]
GridMapping = Literal["area", "reference"]
DistanceKind = Literal["exact", "raster2"]
NegativeRegion = Literal["box", "reference"]
CEBoxRules = Literal["clean", "reference"]
ResizeBackend = Literal["opencv", "torch"]
CoordPrecision = Literal["float64", "float32"]

_POINT_STRATEGIES = ("distance", "box_center", "centroid")
_MASK_FORMS = ("paper", "reference", "binary")
_GRID_MAPPINGS = ("area", "reference")
_CHOICES = {
    "distance": ("exact", "raster2"),
    "negative_region": ("box", "reference"),
    "cebox_rules": ("clean", "reference"),
    "resize_backend": ("opencv", "torch"),
    "coord_precision": ("float64", "float32"),
}


@dataclass(frozen=True)
class RefinerConfig:
    """All settings of :class:`~samrefiner_lib.refiner.SAMRefiner`.

    Attributes:
      preset: name of the preset this configuration started from.
      use_point: give SAM the positive point.
      use_negative_point: add the negative point (only with ``use_point``).
      point_strategy: ``"distance"`` (distance-guided, the method), ``"box_center"`` or
        ``"centroid"`` (baselines of Table 2a).
      use_box: give SAM a box.
      use_cebox: grow the box with CEBox (only with ``use_box``).
      cebox_lambda: fraction of similar pixels a strip needs to be taken (paper: 0.1).
      cebox_sim_threshold: cosine similarity that counts as similar (0.5).
      cebox_step_fraction, cebox_step_cap: strip width = min(fraction * side, cap) pixels.
      cebox_rounds: progressive expansion rounds per refinement iteration.
      use_mask: give SAM a mask prompt.
      mask_form: ``"paper"``, ``"reference"`` or ``"binary"`` Gaussian form.
      mask_amplitude: omega (paper) or strength (reference code).
      mask_gamma: spread of the Gaussian.
      grid_mapping: ``"area"`` or ``"reference"`` resampling onto the mask-input grid.
      expanded_mask_amplitude: amplitude used instead of ``mask_amplitude`` for masks whose box
        CEBox expanded; ``None`` keeps ``mask_amplitude``.
      distance: ``"exact"`` (Euclidean) or ``"raster2"`` (the reference code's FastGeodis
        raster transform) distances for the points and the reference-form Gaussian.
      negative_region: ``"box"`` or ``"reference"`` (end-exclusive box, (0, 0) fallback)
        search for the negative point.
      cebox_rules: ``"clean"`` or ``"reference"`` (the reference code's strips and rounding).
      amplitude_from_last_mask: take the expanded-mask amplitude decision of the image's last
        mask for all of its masks (the reference code's behaviour) instead of per mask.
      resize_backend: ``"opencv"`` or ``"torch"`` resizing of the mask prompt onto the grid
        (``"torch"`` needs ``grid_mapping="reference"``).
      coord_precision: ``"float64"`` or ``"float32"`` scaling of point and box coordinates into
        the model's input frame.
      iterations: refinement passes; each pass re-excavates prompts from the previous result.
      multimask_output: ask SAM for its 3 candidates (the method) or for 1.
      chunk_size: masks per prompt-encoder/mask-decoder call (bounds memory); None picks by
        device: 4 on the CPU, where the decoder's work per mask cannot be shared and larger
        batches only add memory traffic (measured 40% slower at 8+ with ViT-B dimensions), and
        64 on accelerators, where one call amortises the launch overhead (9-15x faster than
        one call per mask on an H200). Results do not depend on it.
      accept_min_coarse_iou: acceptance rule (not in the paper): keep the coarse mask instead of
        the refined one when the refined mask's IoU with the original coarse mask is below this;
        None switches the rule off, 0 never rejects, 1 rejects every mask that SAM changed.
      accept_min_score: acceptance rule (not in the paper): keep the coarse mask when the
        predicted IoU of the selected candidate is below this; None switches the rule off.
        SAM's IoU head is not bounded, so even 0 rejects a candidate it scores below 0.
        Both rules apply per mask after each iteration's selection, a mask must pass both to be
        accepted, and a rejected mask stays at the mask it entered that iteration with (the
        coarse mask in the first iteration, the previous iteration's result after that). The
        overlap is measured against the original coarse mask, not the previous iteration's, so
        every returned mask keeps an IoU of at least ``accept_min_coarse_iou`` with its coarse
        mask however many iterations run (small steps cannot drift away from it).
      overrides: fields changed after the preset was applied (filled in by :meth:`replace`).
    """

    preset: str = "paper"
    use_point: bool = True
    use_negative_point: bool = True
    point_strategy: PointStrategy = "distance"
    use_box: bool = True
    use_cebox: bool = True
    cebox_lambda: float = 0.1
    cebox_sim_threshold: float = 0.5
    cebox_step_fraction: float = 0.1
    cebox_step_cap: float = 10.0
    cebox_rounds: int = 3
    use_mask: bool = True
    mask_form: MaskForm = "paper"
    mask_amplitude: float = 15.0
    mask_gamma: float = 4.0
    grid_mapping: GridMapping = "area"
    expanded_mask_amplitude: float | None = None
    distance: DistanceKind = "exact"
    negative_region: NegativeRegion = "box"
    cebox_rules: CEBoxRules = "clean"
    amplitude_from_last_mask: bool = False
    resize_backend: ResizeBackend = "opencv"
    coord_precision: CoordPrecision = "float64"
    iterations: int = 1
    multimask_output: bool = True
    chunk_size: int | None = None
    accept_min_coarse_iou: float | None = None
    accept_min_score: float | None = None
    overrides: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not (self.use_point or self.use_box or self.use_mask):
            raise ValueError("RefinerConfig: enable at least one of use_point, use_box, use_mask")
        if self.point_strategy not in _POINT_STRATEGIES:
            raise ValueError(f"point_strategy must be one of {_POINT_STRATEGIES}, "
                             f"got {self.point_strategy!r}")
        if self.mask_form not in _MASK_FORMS:
            raise ValueError(f"mask_form must be one of {_MASK_FORMS}, got {self.mask_form!r}")
        if self.grid_mapping not in _GRID_MAPPINGS:
            raise ValueError(f"grid_mapping must be one of {_GRID_MAPPINGS}, "
                             f"got {self.grid_mapping!r}")
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.resize_backend == "torch" and self.grid_mapping != "reference":
            raise ValueError("resize_backend='torch' reproduces the reference code's bilinear "
                             "mapping; use it with grid_mapping='reference'")
        if self.iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {self.iterations}")
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if self.cebox_rounds < 1:
            raise ValueError(f"cebox_rounds must be >= 1, got {self.cebox_rounds}")
        if not 0 <= self.cebox_lambda < 1:
            raise ValueError(f"cebox_lambda must lie in [0, 1), got {self.cebox_lambda}")
        if self.mask_amplitude <= 0 or self.mask_gamma <= 0:
            raise ValueError("mask_amplitude and mask_gamma must be > 0")
        for name in ("accept_min_coarse_iou", "accept_min_score"):
            value = getattr(self, name)
            # Written so that NaN fails too: a NaN threshold would reject every mask unexplained.
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be None (off) or lie in [0, 1], got {value!r}")

    @property
    def uses_acceptance(self) -> bool:
        """Whether an acceptance rule is on (a refined mask may be replaced by its coarse mask)."""
        return self.accept_min_coarse_iou is not None or self.accept_min_score is not None

    def resolved_chunk_size(self, device: torch.device) -> int:
        """``chunk_size``, or the device's default when it is None."""
        if self.chunk_size is not None:
            return self.chunk_size
        return 4 if device.type == "cpu" else 64

    def replace(self, **changes: Any) -> RefinerConfig:
        """A copy with ``changes`` applied and recorded as overrides of the preset."""
        names = {f.name for f in dataclasses.fields(self)} - {"overrides", "preset"}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise TypeError(f"unknown RefinerConfig field(s): {', '.join(unknown)}")
        recorded = dict(self.overrides)
        recorded.update(changes)
        return dataclasses.replace(self, overrides=tuple(sorted(recorded.items())), **changes)

    def describe(self) -> str:
        """Short label: the preset plus changed fields, e.g. ``paper (use_mask=False)``."""
        if not self.overrides:
            return self.preset
        return f"{self.preset} (" + ", ".join(f"{k}={v!r}" for k, v in self.overrides) + ")"

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of every field (for JSON results), with ``describe()`` added."""
        d = dataclasses.asdict(self)
        d["overrides"] = dict(self.overrides)
        d["label"] = self.describe()
        return d


#: The ``safe`` preset's rule: keep a refined mask only when SAM's predicted IoU for it is at
#: least this. Chosen with ``sam_lite_real`` on two validation sets, the 109 real validation
#: pairs (``benchmarks/bench_safe_threshold.py --data pairs``) and 363 regions of the BSDS500
#: validation images (``--data bsds``), as the rule and threshold whose worst change of
#: cumulative IoU, mean IoU and boundary IoU against the coarse masks, over both sets, is best
#: (``--combine`` of the two result files): +1.96, +1.75, +4.05 points on the pairs (18% of the
#: refined masks kept) and +0.25, +0.17, +0.11 on the regions (4% kept), where the ``paper``
#: preset gives +6.19, +5.75, +7.66 and -0.51, -0.66, -3.33. Choosing on the pairs alone would
#: give 0.7, which keeps 99% of their masks and loses 3.23 boundary IoU on the regions.
#: The value depends on the model's IoU head: choose it again for another model.
SAFE_MIN_SCORE = 0.9

PRESETS: dict[str, RefinerConfig] = {
    "paper": RefinerConfig(preset="paper"),
    "reference": RefinerConfig(
        preset="reference",
        use_cebox=False,
        cebox_rounds=1,
        mask_form="reference",
        mask_amplitude=30.0,
        mask_gamma=4.0,
        grid_mapping="reference",
        expanded_mask_amplitude=1.0,
        distance="raster2",
        negative_region="reference",
        cebox_rules="reference",
        amplitude_from_last_mask=True,
        resize_backend="torch",
        coord_precision="float32",
        iterations=5,
    ),
    # The paper's method plus the acceptance rule: for pseudo-labels that must not get worse.
    "safe": RefinerConfig(
        preset="safe",
        accept_min_coarse_iou=None,
        accept_min_score=SAFE_MIN_SCORE,
    ),
}


def get_preset(name: str, **overrides: Any) -> RefinerConfig:
    """The named preset (``"paper"``, ``"reference"`` or ``"safe"``), with optional overrides.

    Arguments:
      name: preset name, a key of :data:`PRESETS`.
      **overrides: fields to change; they are recorded and named by ``describe()``.

    Returns:
      RefinerConfig
    """
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; available: {', '.join(sorted(PRESETS))}")
    cfg = PRESETS[name]
    return cfg.replace(**overrides) if overrides else cfg
