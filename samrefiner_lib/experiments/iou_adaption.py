"""SAMRefiner++ IoU adaption: the Table 1 analogue (before / after adaption) and Fig. 5c.

Data (``data=``):

* ``"synth_shifted"`` (default): SynthDAVIS scenes in the ``shifted`` style, a distribution
  shift away from the scenes the embedded model was trained on. The adaptor is trained on the
  ``val`` split and evaluated on the ``test`` split (held-out images) and on a subset of its own
  training images (the paper adapts and evaluates on the same DAVIS-585 images).
* ``"real"``: the shared real image / ground-truth pairs with DAVIS-585-protocol coarse masks
  (seeded by each pair's index in the full list), split in two halves by a seeded permutation:
  the first half trains the adaptor, the second is held out.
* at ``paper`` scale: DAVIS-585 (``init_sp`` coarse masks), adapted and evaluated on all 585
  samples as in the paper; there is no held-out set.

Training never reads ground truth: only the coarse masks (:func:`adapt_iou_head`).

Sizes (objects): ``smoke`` adapts on 20 and evaluates on 10; ``mini`` adapts on 585 (the size
of DAVIS-585, so the learning-rate milestones at steps 60 and 100 fall inside the epoch) and
evaluates on 200 held-out objects plus 200 of the training objects.

Every DataFrame carries ``model``, ``data`` and ``preset`` columns and a ``attrs["label"]``.
Run: ``python -m samrefiner_lib.experiments.iou_adaption --scale mini [--data real]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..adaption import (
    DEFAULT_MARGIN,
    AdaptionConfig,
    IoUHeadAdaptor,
    LoRAConfig,
    adapt_iou_head,
    coarse_target_top1,
    loss_log,
    training_prompt_config,
)
from ..config import RefinerConfig, get_preset
from ..datasets import load_real_pairs
from ..datasets.sample import Sample
from ..evaluation import davis585_masks, evaluate, synth_davis
from ..metrics.iou import IoUAccumulator, intersection_union, iou_from_counts
from ..models import available_models
from ..refiner import SAMRefiner
from ..reporting import PAPER_MARKER, RunLabel, paper_value, with_paper
from .common import Settings, main_samples
from .prompt_ablations import prompt_combinations

#: Data sets this experiment knows.
DATA_CHOICES = ("synth_shifted", "real")

#: Configurations of the Table 1 analogue: both presets, and the reference preset with one
#: iteration as in the reference code's SAMRefiner++ evaluation.
DEFAULT_PRESETS: tuple[str | RefinerConfig, ...] = (
    "paper", "reference", get_preset("reference", iterations=1))

#: Table 1 metrics, in column order.
METRICS = ["objects", "IoU", "mIoU", "boundary IoU", "boundary mIoU", "top-1"]


@dataclass(frozen=True)
class AdaptionSizes:
    """Objects used at one scale (-1: all of the data set).

    Attributes:
      adapt_objects: coarse masks the adaptor is trained on.
      eval_objects: objects of each evaluation set (held-out, and training-image subset).
    """

    adapt_objects: int
    eval_objects: int


SIZES: dict[str, AdaptionSizes] = {
    "smoke": AdaptionSizes(adapt_objects=20, eval_objects=10),
    "mini": AdaptionSizes(adapt_objects=585, eval_objects=200),
    "paper": AdaptionSizes(adapt_objects=-1, eval_objects=-1),
}


@dataclass
class AdaptionData:
    """Training and evaluation samples of one run.

    Attributes:
      adapt: samples whose coarse masks train the adaptor (their ground truth is not used).
      eval_sets: name -> samples with ground truth, e.g. ``held-out images`` and
        ``adaption images`` (a subset of ``adapt``).
      label: description of the data (recorded in every table).
    """

    adapt: list[Sample]
    eval_sets: dict[str, list[Sample]]
    label: str


def _objects(samples: Sequence[Sample]) -> int:
    return int(sum(len(s.coarse) for s in samples))


def _first_objects(samples: Sequence[Sample], n: int) -> list[Sample]:
    """The leading samples holding at least ``n`` objects (all for n < 0)."""
    if n < 0:
        return list(samples)
    out: list[Sample] = []
    for s in samples:
        if _objects(out) >= n:
            break
        out.append(s)
    return out


def _real_split(n_adapt: int, n_eval: int, seed: int) -> tuple[list[Sample], list[Sample]]:
    pairs = load_real_pairs()
    if pairs is None:
        raise FileNotFoundError("data='real': the shared real pairs were not found (set "
                                "SAMREFINER_REAL_DATA)")
    order = np.random.default_rng(seed).permutation(len(pairs))
    half = len(order) // 2

    def take(indices: np.ndarray, n: int) -> list[Sample]:
        out: list[Sample] = []
        for gi in indices:
            if n >= 0 and _objects(out) >= n:
                break
            s = pairs[int(gi)]
            # Seeded by the pair's index in the full list: the same coarse masks in any subset.
            coarse = davis585_masks(s.gt, seed, int(gi), s.ignore)
            meta = {**s.meta, "pairing": "index", "coarse_protocol": f"davis585(seed={seed})"}
            out.append(Sample(s.image, s.gt, coarse, s.ignore, s.name, meta))
        return out

    return take(order[:half], n_adapt), take(order[half:], n_eval)


def adaption_data(settings: Settings, data: str = "synth_shifted", seed: int = 0) -> AdaptionData:
    """The samples of a run at the settings' scale (see the module docstring).

    Arguments:
      settings: scale, model and data root.
      data: ``"synth_shifted"`` or ``"real"`` (ignored at ``paper`` scale: DAVIS-585).
      seed: seed of the coarse-mask corruption and of the real-pair split.

    Returns:
      AdaptionData
    """
    scale = settings.scale.name
    sizes = SIZES[scale]
    if scale == "paper":
        samples, label = main_samples(settings)
        return AdaptionData(samples, {"adaption images (all)": samples},
                            f"{label}, adapted and evaluated on the same images")
    if data == "synth_shifted":
        adapt = synth_davis(sizes.adapt_objects, split="val", style="shifted", seed=seed)
        held = synth_davis(sizes.eval_objects, split="test", style="shifted", seed=seed)
        label = (f"SynthDAVIS shifted style: adapt on val ({_objects(adapt)} objects), "
                 f"held-out test ({_objects(held)} objects)")
    elif data == "real":
        adapt, held = _real_split(sizes.adapt_objects, sizes.eval_objects, seed)
        label = (f"real pairs, DAVIS-585 protocol: adapt on half A ({_objects(adapt)} objects), "
                 f"held-out half B ({_objects(held)} objects)")
    else:
        raise ValueError(f"data must be one of {DATA_CHOICES}, got {data!r}")
    train_eval = _first_objects(adapt, sizes.eval_objects)
    return AdaptionData(adapt, {"held-out images": held, "adaption images": train_eval}, label)


def _model_spec(settings: Settings) -> dict[str, Any] | None:
    entry = available_models().get(settings.model)
    return None if entry is None or entry.spec is None else entry.spec.to_dict()


def train_adaptor(
    refiner: SAMRefiner,
    data: AdaptionData,
    settings: Settings,
    config: AdaptionConfig | None = None,
    progress: bool = False,
) -> IoUHeadAdaptor:
    """Train an adaptor on ``data.adapt`` (coarse masks only) with the default recipe.

    Returns:
      IoUHeadAdaptor (its ``log`` is the loss curve, see :func:`loss_curve`).
    """
    return adapt_iou_head(refiner, data.adapt, config, model_name=settings.model,
                          spec=_model_spec(settings), checkpoint=settings.checkpoint,
                          data_label=data.label, progress=progress)


def _label(settings: Settings, data: str, preset: str) -> str:
    return str(RunLabel(settings.scale.name, settings.model_label, data, preset))


def table1_adaption(
    refiner: SAMRefiner,
    adaptor: IoUHeadAdaptor,
    data: AdaptionData,
    settings: Settings,
    presets: Sequence[str | RefinerConfig] = DEFAULT_PRESETS,
    progress: bool = False,
) -> pd.DataFrame:
    """IoU, boundary IoU and top-1 with all prompts, before and after adaption.

    ``presets`` are preset names or configurations; the default adds ``reference`` with one
    iteration, the setting of the reference code's SAMRefiner++ evaluation.

    For each evaluation set and preset: the preset as it is (all prompts; ``SAMRefiner``) and
    with the adaptor applied (``SAMRefiner++``), plus the training prompts (a single tight box)
    before and after, and the coarse masks. Uses :func:`samrefiner_lib.evaluation.evaluate`.

    Returns:
      DataFrame, one row per (eval set, preset, method, phase), metrics in %.
    """
    resolved = [get_preset(p) if isinstance(p, str) else p for p in presets]
    configs: dict[str, RefinerConfig] = {c.describe(): c for c in resolved}
    box = training_prompt_config(resolved[0])
    methods: dict[str, RefinerConfig] = {**configs, "box": box}
    rows: list[dict[str, Any]] = []
    for set_name, samples in data.eval_sets.items():
        for phase in ("before", "after"):
            if phase == "after":
                with adaptor.applied(refiner):
                    table = evaluate(samples, methods, refiner, progress=progress).table()
            else:
                table = evaluate(samples, methods, refiner, progress=progress).table()
            for key, row in table.iterrows():
                if key == "coarse" and phase == "after":
                    continue
                if key == "coarse":
                    method, preset = "coarse masks", "-"
                elif key == "box":
                    method, preset = "box only (training prompts)", box.describe()
                else:
                    method = "SAMRefiner" if phase == "before" else "SAMRefiner++"
                    preset = configs[key].describe()
                rows.append({"model": settings.model_label, "data": data.label,
                             "eval set": set_name, "preset": preset, "method": method,
                             "phase": "-" if key == "coarse" else phase,
                             **{m: row[m] for m in METRICS}})
    out = pd.DataFrame(rows)
    out.attrs["label"] = _label(settings, data.label, " / ".join(configs))
    return out


def adaption_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Before / after / change of top-1 and IoU per eval set and preset (from
    :func:`table1_adaption`)."""
    t = table[table["phase"] != "-"].copy()
    t["prompts"] = np.where(t["method"].str.startswith("box"), "box only", "all prompts")
    keys = ["model", "data", "eval set", "preset", "prompts"]
    wide = t.pivot_table(index=keys, columns="phase",
                         values=["top-1", "IoU", "boundary IoU"], aggfunc="first")
    out = pd.DataFrame(index=wide.index)
    for m in ("top-1", "IoU", "boundary IoU"):
        out[f"{m} before"] = wide[(m, "before")]
        out[f"{m} after"] = wide[(m, "after")]
        out[f"{m} change"] = wide[(m, "after")] - wide[(m, "before")]
    out = out.reset_index()
    out.attrs.update(table.attrs)
    return out


def loss_curve(adaptor: IoUHeadAdaptor, settings: Settings, window: int = 5) -> pd.DataFrame:
    """The training loss per optimiser step, with a moving average over ``window`` steps."""
    log = loss_log(adaptor)
    log["loss (moving average)"] = log["loss"].rolling(window, min_periods=1).mean()
    data = str(adaptor.training.get("data"))
    prompts = str(adaptor.training.get("train_prompts"))
    log.insert(0, "model", settings.model_label)
    log.insert(1, "data", data)
    log.insert(2, "preset", prompts)
    log.attrs["label"] = _label(settings, data, prompts)
    return log


# ----------------------------------------------------------------------------- Fig. 5c


@dataclass
class _ObjectRecord:
    """Everything needed to score any selection rule for one object and prompt set."""

    predicted: dict[str, np.ndarray]  # head name -> K predicted IoUs
    vs_gt: np.ndarray  # K IoUs with the ground truth
    vs_coarse: np.ndarray  # K IoUs with the coarse mask
    counts: np.ndarray  # Kx2 (intersection, union) with the ground truth


def _records(
    refiner: SAMRefiner,
    samples: Sequence[Sample],
    configs: Mapping[str, RefinerConfig],
    adaptors: Mapping[str, IoUHeadAdaptor],
    progress: bool,
) -> dict[str, list[_ObjectRecord]]:
    """Candidates of every object for each prompt set (one pass, one encoding per image).

    The adaptor changes only the IoU head, so the candidates are computed once and only the
    predicted IoUs are re-read with each adaptor attached.
    """
    from tqdm.auto import tqdm

    out: dict[str, list[_ObjectRecord]] = {name: [] for name in configs}
    for s in tqdm(samples, desc="candidates", unit="img", disable=not progress):
        emb = refiner.encode(s.image)
        for name, cfg in configs.items():
            base = refiner.refine_masks(emb, s.coarse, cfg)
            heads = {"SAM": base.iou_predictions}
            for a_name, adaptor in adaptors.items():
                with adaptor.applied(refiner):
                    heads[a_name] = refiner.refine_masks(emb, s.coarse, cfg).iou_predictions
            for i in np.flatnonzero(base.prompts.valid):
                cands = base.candidate_masks(int(i))
                counts = np.array([intersection_union(c, s.gt[i], s.ignore) for c in cands],
                                  dtype=np.int64)
                vs_gt = np.array([iou_from_counts(*c) for c in counts])
                vs_coarse = np.array([iou_from_counts(*intersection_union(c, s.coarse[i]))
                                      for c in cands])
                out[name].append(_ObjectRecord({h: p[i] for h, p in heads.items()}, vs_gt,
                                               vs_coarse, counts))
    return out


def _score(records: Sequence[_ObjectRecord], choose: Any, head: str | None) -> dict[str, float]:
    acc = IoUAccumulator()
    hits = []
    gaps = []
    for r in records:
        k = int(choose(r))
        acc.add_counts(int(r.counts[k, 0]), int(r.counts[k, 1]))
        hits.append(r.vs_gt[k] == r.vs_gt.max())
        if head is not None:
            top2 = np.sort(r.predicted[head])[-2:]
            gaps.append(top2[1] - top2[0])
    return {"objects": len(records), "top-1": 100 * float(np.mean(hits)),
            "IoU": 100 * acc.cumulative, "mIoU": 100 * acc.mean,
            "score gap": float(np.median(gaps)) if gaps else float("nan")}


def selection_study(
    refiner: SAMRefiner,
    samples: Sequence[Sample],
    settings: Settings,
    data: str,
    preset: str = "paper",
    adaptors: Mapping[str, IoUHeadAdaptor] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Fig. 5c analogue: how good is each way of choosing among SAM's 3 candidates?

    Prompt sets: point, box and mask alone, and all three (the project's Table 1 rows), each in
    one pass (``iterations=1``) so that every selector sees the same candidates. Selectors:
    SAM's predicted IoU, IoU with the coarse mask, the oracle (IoU with the ground truth: top-1
    is 100 % by definition, its IoU is the upper bound), and SAM's predicted IoU with each given
    adaptor attached.

    Returns:
      DataFrame with model, data, preset, prompts, selector, objects, top-1, IoU, mIoU (in %)
      and, for predicted-IoU selectors, ``score gap``: the median difference between the
      highest and the second-highest predicted IoU (how decided the head is).
    """
    adaptors = dict(adaptors or {})
    combos = prompt_combinations(get_preset(preset, iterations=1))
    names = {"point": "point", "box": "box", "mask": "mask", "point + box + mask": "all"}
    configs = {names[k]: combos[k] for k in names}
    recs = _records(refiner, samples, configs, adaptors, progress)
    # name -> (choice rule, head whose predicted IoUs it reads or None)
    selectors: dict[str, tuple[Any, str | None]] = {
        "predicted IoU (SAM)": (lambda r: np.argmax(r.predicted["SAM"]), "SAM"),
        "IoU with coarse mask": (lambda r: np.argmax(r.vs_coarse), None),
        "oracle (ground truth)": (lambda r: np.argmax(r.vs_gt), None),
    }
    for a_name in adaptors:
        selectors[f"predicted IoU ({a_name})"] = (
            lambda r, a=a_name: np.argmax(r.predicted[a]), a_name)
    rows = []
    for prompts, cfg in configs.items():
        for sel_name, (choose, head) in selectors.items():
            rows.append({"model": settings.model_label, "data": data,
                         "preset": cfg.describe(), "prompts": prompts, "selector": sel_name,
                         **_score(recs[prompts], choose, head)})
    out = pd.DataFrame(rows)
    out.attrs["label"] = _label(settings, data, get_preset(preset, iterations=1).describe())
    return out


def alpha_sensitivity(
    refiner: SAMRefiner,
    data: AdaptionData,
    settings: Settings,
    alphas: Sequence[float] = (1.0, 4.0, 16.0, 64.0),
    preset: str = "paper",
    eval_set: str | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Sensitivity of the adaption to the LoRA scale alpha / rank (the update's step size).

    One adaptor per alpha, all other settings default; scored like :func:`selection_study` on
    one evaluation set (default: the first, i.e. held-out images). This is an analysis of the
    recipe, not a way to pick alpha: choosing it on ground truth would defeat the point of a
    ground-truth-free adaption.

    Returns:
      DataFrame: one row per (alpha, prompts) with top-1 and IoU of the predicted-IoU choice.
    """
    eval_name = eval_set or next(iter(data.eval_sets))
    adaptors = {f"alpha={a:g}": train_adaptor(refiner, data, settings,
                                              AdaptionConfig(lora=LoRAConfig(alpha=float(a))),
                                              progress)
                for a in alphas}
    study = selection_study(refiner, data.eval_sets[eval_name], settings,
                            f"{data.label}; scored on {eval_name}", preset, adaptors, progress)
    keep = study["selector"].str.startswith("predicted IoU")
    out = study[keep & study["prompts"].isin(["box", "all"])].copy()
    out.insert(4, "alpha", out["selector"].str.extract(r"alpha=([\d.e+-]+)")[0].astype(float))
    out.attrs.update(study.attrs)
    return out.reset_index(drop=True)


def _adapted_layer_inputs(
    refiner: SAMRefiner, samples: Sequence[Sample], cfg: RefinerConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs of the adapted layer, coarse-mask targets and SAM's choices for ``cfg`` prompts.

    Returns:
      (NxD features, (N,) targets, (N,) head choices) over every non-empty coarse mask.
    """
    captured: list[torch.Tensor] = []
    layer = refiner.sam.mask_decoder.iou_prediction_head.layers[-1]
    hook = layer.register_forward_hook(lambda m, i, o: captured.append(i[0].detach().cpu()))
    feats, targets, choices = [], [], []
    try:
        for s in samples:
            captured.clear()
            out = refiner.refine(s.image, s.coarse, config=cfg)
            valid = np.flatnonzero(out.prompts.valid)
            if valid.size == 0:
                continue
            feats.append(torch.cat(captured))
            for i in valid:
                cands = out.candidate_masks(int(i))
                ious = [iou_from_counts(*intersection_union(c, s.coarse[i])) for c in cands]
                targets.append(int(np.argmax(ious)))
                choices.append(int(np.argmax(out.iou_predictions[i])))
    finally:
        hook.remove()
    return torch.cat(feats).float(), torch.tensor(targets), torch.tensor(choices)


def feature_probe(
    refiner: SAMRefiner,
    data: AdaptionData,
    settings: Settings,
    eval_set: str | None = None,
    steps: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """How much can any update of the adapted layer learn? A linear probe on its inputs.

    The adaptor changes only the last linear layer of the IoU head, so what it can express is a
    linear function of that layer's input. A multinomial logistic regression (standardised
    features, L2 1e-3, Adam, ``steps`` full-batch steps, seeded) is fitted on those inputs to
    predict the coarse-mask target of the training prompts (single box) on the adaption images,
    and scored on the adaption images and on an evaluation set. Compare it with always
    predicting the most frequent target and with SAM's own head.

    Returns:
      DataFrame: one row per set with masks, the head's agreement with the target, the probe's
      and the majority rule's (all in %), and the mean per-feature standard deviation relative
      to the mean feature magnitude.
    """
    cfg = training_prompt_config(refiner.config)
    eval_name = eval_set or next(iter(data.eval_sets))
    x_tr, y_tr, c_tr = _adapted_layer_inputs(refiner, data.adapt, cfg)
    x_ev, y_ev, c_ev = _adapted_layer_inputs(refiner, data.eval_sets[eval_name], cfg)
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-6
    k = 3
    gen = torch.Generator().manual_seed(seed)
    w = (torch.randn(x_tr.shape[1], k, generator=gen) * 0.01).requires_grad_()
    b = torch.zeros(k, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=0.01)
    z_tr = (x_tr - mu) / sd
    with torch.enable_grad():
        for _ in range(steps):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(z_tr @ w + b, y_tr) + 1e-3 * w.pow(2).sum()
            loss.backward()
            opt.step()
    majority = int(torch.bincount(y_tr, minlength=k).argmax())
    rows = []
    for name, x, y, c in (("adaption images", x_tr, y_tr, c_tr), (eval_name, x_ev, y_ev, c_ev)):
        with torch.no_grad():
            probe = ((x - mu) / sd @ w + b).argmax(1)
        rows.append({
            "model": settings.model_label, "data": data.label, "preset": cfg.describe(),
            "set": name, "masks": int(y.numel()),
            "SAM head = target": 100 * float((c == y).float().mean()),
            "linear probe = target": 100 * float((probe == y).float().mean()),
            "majority target": 100 * float((y == majority).float().mean()),
            "feature spread": float(x.std(0).mean() / x.abs().mean().clamp_min(1e-12)),
        })
    out = pd.DataFrame(rows)
    out.attrs["label"] = _label(settings, data.label, cfg.describe())
    return out


def objective_check(
    refiner: SAMRefiner, adaptor: IoUHeadAdaptor, data: AdaptionData, settings: Settings
) -> pd.DataFrame:
    """The adaption objective itself, before and after adaption, on every evaluation set.

    With the training prompts (single box) and no ground truth: the mean margin ranking loss of
    the coarse-mask target against the other candidates (what the adaptor minimises) and the
    top-1 agreement of the predicted IoU with that target. A falling loss with a falling top-1
    means the optimiser works but the objective rewards something other than picking the target
    (the hinge weighs a few large violations more than many small ones).

    Returns:
      DataFrame: one row per evaluation set with masks, loss and top-1 before and after.
    """
    cfg = training_prompt_config(refiner.config)
    margin = float(adaptor.training.get("margin", DEFAULT_MARGIN))
    rows = []
    for name, samples in data.eval_sets.items():
        before = coarse_target_top1(refiner, samples, cfg, margin)
        with adaptor.applied(refiner):
            after = coarse_target_top1(refiner, samples, cfg, margin)
        rows.append({"model": settings.model_label, "data": data.label, "preset": cfg.describe(),
                     "set": name, "masks": before.masks,
                     "ranking loss before": before.ranking_loss,
                     "ranking loss after": after.ranking_loss,
                     "top-1 vs coarse target before": 100 * before.coarse_top1,
                     "top-1 vs coarse target after": 100 * after.coarse_top1})
    out = pd.DataFrame(rows)
    out.attrs["label"] = _label(settings, data.label, cfg.describe())
    return out


# ----------------------------------------------------------------------------- book views

#: Short names of the Fig. 5c selectors for the book's tables and figures, in display order.
SELECTOR_NAMES = {
    "predicted IoU (SAM)": "SAM head",
    "predicted IoU (adapted)": "adapted head",
    "IoU with coarse mask": "coarse mask",
    "oracle (ground truth)": "oracle",
}
PROMPT_ORDER = ("point", "box", "mask", "all")
#: The paper's Fig. 5c finding (id ``f5c``: the coarse mask is the better judge for single
#: prompts, SAM's head for multiple prompts), per prompt set.
FIG5C_FINDING = {"point": "coarse mask", "box": "coarse mask", "mask": "coarse mask",
                 "all": "SAM head"}
#: The paper's numbers (ViT-H, DAVIS-585, Table 1) that fall on a cell of the Fig. 5c analogue:
#: metric -> (prompts, selector) -> id in ``paper_numbers.csv``.
PAPER_SELECTION_IDS: dict[str, dict[tuple[str, str], str]] = {
    "top-1": {("all", "SAM head"): "t1_top1_before", ("all", "adapted head"): "t1_top1_after"},
    "IoU": {("point", "SAM head"): "t1_point", ("box", "SAM head"): "t1_box",
            ("all", "SAM head"): "t1_all", ("all", "adapted head"): "t1_plus"},
}


def selection_view(selection: pd.DataFrame, metric: str = "top-1") -> pd.DataFrame:
    """One metric of :func:`selection_study` for the book: a row per prompt set, a column per
    selector (short names), and the paper's numbers and Fig. 5c finding beside them.

    Returns:
      DataFrame indexed by prompts.
    """
    t = selection.assign(selector=selection["selector"].map(SELECTOR_NAMES))
    wide = t.pivot_table(index="prompts", columns="selector", values=metric, aggfunc="first")
    wide = wide.reindex(index=[p for p in PROMPT_ORDER if p in wide.index],
                        columns=[c for c in SELECTOR_NAMES.values() if c in wide.columns])
    wide.columns.name = None
    wide.insert(0, "objects", t.groupby("prompts")["objects"].first().reindex(wide.index))
    for sel in ("SAM head", "adapted head"):
        cells = {p: f"{paper_value(i):.1f}" for (p, s), i in PAPER_SELECTION_IDS[metric].items()
                 if s == sel and p in wide.index}
        if cells:
            wide = with_paper(wide, cells, column=f"paper: {sel}")
    return with_paper(wide, {p: f for p, f in FIG5C_FINDING.items() if p in wide.index},
                      column="paper: better judge")


def plot_selection(selection: pd.DataFrame, title: str | None = None):
    """Fig. 5c analogue: top-1 and IoU of each selector per prompt set, as grouped bars, with the
    paper's numbers (ViT-H, DAVIS-585) as markers on the bars they correspond to.

    Returns:
      matplotlib Figure
    """
    import textwrap

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, metric in zip(axes, ("top-1", "IoU"), strict=True):
        t = selection_view(selection, metric)
        selectors = [c for c in SELECTOR_NAMES.values() if c in t.columns]
        width = 0.8 / len(selectors)
        x = np.arange(len(t.index))
        for k, sel in enumerate(selectors):
            ax.bar(x + (k - (len(selectors) - 1) / 2) * width, t[sel], width, label=sel)
        first = True
        for (prompts, sel), number_id in PAPER_SELECTION_IDS[metric].items():
            if prompts in t.index and sel in selectors:
                pos = list(t.index).index(prompts) + (selectors.index(sel)
                                                      - (len(selectors) - 1) / 2) * width
                ax.scatter([pos], [paper_value(number_id)], **PAPER_MARKER,
                           label="paper (ViT-H, DAVIS-585)" if first else None)
                first = False
        ax.set_xticks(x, [f"{p} prompt" if p != "all" else "all prompts" for p in t.index])
        ax.set_ylabel(f"{metric} (%)" if metric == "top-1" else "cumulative IoU (%)")
        ax.set_ylim(0, 105)
        ax.set_title("best candidate chosen (top-1)" if metric == "top-1"
                     else "IoU of the chosen masks", fontsize=12)
    # One legend for both panels, below them: inside a panel it would hide bars.
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=10, frameon=False)
    if title:
        fig.suptitle(textwrap.fill(title, 110), fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def summary_views(summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`adaption_summary` for the book, in two narrow tables: top-1, and IoU with boundary
    IoU. Rows are (eval set, preset, prompts: ``all`` or ``box`` only); the paper's before ->
    after (ViT-H, DAVIS-585, adapted and scored on the same images) sits beside our all-prompt
    rows on the adaption images.

    Returns:
      (top-1 table, IoU table)
    """
    # The box rows' preset is the training-prompt variant of the first preset; the prompts
    # column already says "box only", so its base name is enough (and keeps the row one line).
    t = summary.assign(preset=np.where(summary["prompts"] == "box only",
                                       summary["preset"].str.split(" (", regex=False).str[0],
                                       summary["preset"]))
    t["prompts"] = t["prompts"].map({"all prompts": "all", "box only": "box"})
    t = t.set_index(["eval set", "preset", "prompts"])
    rows = [k for k in t.index if k[0].startswith("adaption images") and k[2] == "all"]

    def paper(before: str, after: str) -> dict:
        # Non-breaking spaces: the pair stays on one line in a narrow column.
        text = f"{paper_value(before):.1f}\u00a0→\u00a0{paper_value(after):.1f}"
        return {k: text for k in rows}

    top1 = t[["top-1 before", "top-1 after", "top-1 change"]].set_axis(
        ["before", "after", "Δ"], axis=1)
    iou = t[["IoU before", "IoU after", "IoU change", "boundary IoU before",
             "boundary IoU after", "boundary IoU change"]].set_axis(
        ["IoU before", "IoU after", "IoU Δ", "bIoU before", "bIoU after", "bIoU Δ"], axis=1)
    return (with_paper(top1, paper("t1_top1_before", "t1_top1_after"), column="paper (ViT-H)"),
            with_paper(iou, paper("t1_all", "t1_plus"), column="paper IoU (ViT-H)"))


@dataclass
class AdaptionRun:
    """Everything :func:`run` produces.

    Attributes:
      adaptor: the trained adaptor.
      table: :func:`table1_adaption`.
      summary: :func:`adaption_summary`.
      loss: :func:`loss_curve`.
      selection: :func:`selection_study` on the first evaluation set, with the adaptor.
      probe: :func:`feature_probe`.
      objective: :func:`objective_check`.
      data: the samples used.
    """

    adaptor: IoUHeadAdaptor
    table: pd.DataFrame
    summary: pd.DataFrame
    loss: pd.DataFrame
    selection: pd.DataFrame
    probe: pd.DataFrame
    objective: pd.DataFrame
    data: AdaptionData


def run(
    refiner: SAMRefiner,
    settings: Settings,
    data: str = "synth_shifted",
    presets: Sequence[str | RefinerConfig] = DEFAULT_PRESETS,
    config: AdaptionConfig | None = None,
    progress: bool = False,
) -> AdaptionRun:
    """Train the adaptor, then the Table 1 analogue, its summary, the loss curve, Fig. 5c, the
    linear probe of the adapted layer's inputs and the objective before / after."""
    samples = adaption_data(settings, data)
    adaptor = train_adaptor(refiner, samples, settings, config, progress)
    table = table1_adaption(refiner, adaptor, samples, settings, presets, progress)
    first = next(iter(samples.eval_sets))
    selection = selection_study(refiner, samples.eval_sets[first], settings,
                                f"{samples.label}; scored on {first}", "paper",
                                {"adapted": adaptor}, progress)
    probe = feature_probe(refiner, samples, settings)
    objective = objective_check(refiner, adaptor, samples, settings)
    return AdaptionRun(adaptor, table, adaption_summary(table), loss_curve(adaptor, settings),
                       selection, probe, objective, samples)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the experiment and print (and optionally save) its tables."""
    from .common import load_model, settings_from_env

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scale", default=None, choices=sorted(SIZES))
    p.add_argument("--data", default="synth_shifted", choices=DATA_CHOICES)
    p.add_argument("--model", default=None)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--alpha-sweep", action="store_true", help="also run alpha_sensitivity")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: the small model gains nothing from more)")
    p.add_argument("--out", default=None, help="folder for CSV tables and the adaptor")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = settings_from_env(args.scale, args.model, args.checkpoint)
    refiner = SAMRefiner(load_model(settings))
    res = run(refiner, settings, args.data, progress=args.progress)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    print(res.table.attrs["label"])
    print(res.adaptor.describe())
    print(res.table.drop(columns=["model", "data"]).round(2).to_string(index=False))
    print("\nsummary")
    print(res.summary.drop(columns=["model", "data"]).round(2).to_string(index=False))
    log = res.loss
    print(f"\nloss: {len(log)} steps; mean of first 10 steps {log['loss'].head(10).mean():.4f}, "
          f"last 10 steps {log['loss'].tail(10).mean():.4f}")
    print("\nFig. 5c analogue:", res.selection.attrs["label"])
    print(res.selection.drop(columns=["model", "data", "preset"]).round(2)
          .to_string(index=False))
    print("\nlinear probe of the adapted layer's inputs:", res.probe.attrs["label"])
    print(res.probe.drop(columns=["model", "data", "preset"]).round(3).to_string(index=False))
    print("\nadaption objective (training prompts, coarse-mask target):",
          res.objective.attrs["label"])
    print(res.objective.drop(columns=["model", "data", "preset"]).round(4).to_string(index=False))
    tables = {"table1": res.table, "summary": res.summary, "loss": res.loss,
              "fig5c": res.selection, "probe": res.probe, "objective": res.objective}
    if args.alpha_sweep:
        sweep = alpha_sensitivity(refiner, res.data, settings, progress=args.progress)
        print("\nalpha sensitivity:", sweep.attrs["label"])
        print(sweep.drop(columns=["model", "data", "preset"]).round(2).to_string(index=False))
        tables["alpha_sweep"] = sweep
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, df in tables.items():
            df.to_csv(out / f"{name}_{args.data}.csv", index=False)
        res.adaptor.save(out / f"adaptor_{args.data}.pt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
