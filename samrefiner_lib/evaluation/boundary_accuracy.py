"""CascadePSP's mean boundary accuracy (mBA) with an ignore region.

:func:`samrefiner_lib.metrics.mean_boundary_accuracy` has no ignore argument: the datasets it
was defined on have none. GrabCut's masks carry an unlabelled 128 band right on the object
boundary, i.e. exactly where mBA looks, so here ignored pixels are removed from every radius's
band before counting (the bands themselves come from the ground truth alone, as in the metric).
Without an ignore region the value equals :func:`~samrefiner_lib.metrics.mean_boundary_accuracy`.
A radius whose remaining band is empty scores NaN, and so does a uniform ground truth; dataset
means use ``nanmean``.
"""

from __future__ import annotations

import numpy as np

from ..metrics.mba import gt_boundary_band, mba_radii


def mba_with_ignore(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """mBA of one mask, leaving ``ignore`` pixels out of every boundary band.

    Arguments:
      pred: HxW bool predicted mask.
      gt: HxW bool ground-truth mask.
      ignore: HxW bool pixels to leave out, or None.

    Returns:
      float: in [0, 1], or NaN when no radius has a band pixel left.
    """
    p = np.asarray(pred, dtype=bool)
    g = np.asarray(gt, dtype=bool)
    if p.shape != g.shape:
        raise ValueError(f"pred {p.shape} and gt {g.shape} differ in shape")
    keep = None if ignore is None else ~np.asarray(ignore, dtype=bool)
    accs = []
    for r in mba_radii(*g.shape):
        band = gt_boundary_band(g, r)
        if keep is not None:
            band &= keep
        n = int(np.count_nonzero(band))
        accs.append(np.nan if n == 0 else np.count_nonzero(p[band] == g[band]) / n)
    return float(np.nanmean(accs)) if not np.all(np.isnan(accs)) else float("nan")
