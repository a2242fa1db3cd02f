"""Split-then-merge on synthetic semantic scenes (the paper's Table 2c, on this project's data).

Data: ``make_semantic_scene`` scenes of the test split (1-3 classes, clustered instances), with
CAM-like coarse labels from ``cam_coarse_semantic`` (seeded by the scene seed). Model: the
embedded ``sam_tiny_synth`` unless another SAM is given. For each preset, every scene is
refined four ways, all from one image embedding:

- ``coarse``: the CAM labels themselves;
- ``whole_class``: SAMRefiner without STM, one prompt set per class;
- ``no_merge``: split only, one prompt set per 8-connected component;
- ``stm``: split-then-merge (mu = 0.5, density rule on);

plus a sweep of mu (STM only) and a comparison of the merge-back rules. mIoU is over all classes
(background included) from one confusion matrix per setting. Every table names the model, the
data and the preset. Region sets that coincide (e.g. mu = 2 and ``no_merge``) are refined once.

Run: ``python -m samrefiner_lib.experiments.stm --scale mini`` (``smoke`` for a quick check;
``--noisy`` for noisier CAM-like labels, :data:`NOISY_CAM`).
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from segment_anything.modeling import Sam

from ..config import PRESETS as CONFIG_PRESETS
from ..config import get_preset
from ..decoding import ImageEmbedding
from ..defects import cam_coarse_semantic
from ..models import load_sam
from ..models.defaults import DEFAULT_MODEL
from ..refiner import SAMRefiner
from ..reporting import RunLabel, paper_numbers, with_paper
from ..stm import (
    CONFLICT_RULES,
    DROPPED_RULES,
    MergeRule,
    SemanticRefinement,
    build_regions,
    refine_semantic,
    score_label_maps,
)
from ..synthetic import CLASS_NAMES, NUM_CLASSES, make_semantic_scene, split_seeds

#: The ablation rows, in table order.
METHODS: tuple[str, ...] = ("coarse", "whole_class", "no_merge", "stm")
METHOD_LABELS = {
    "coarse": "coarse (CAM labels)",
    "whole_class": "SAMRefiner, whole class (no STM)",
    "no_merge": "SAMRefiner, split only (no merge)",
    "stm": "SAMRefiner + STM",
}
#: Short row labels for the book's tables (the long ones are in the module docstring).
SHORT_METHOD_LABELS = {
    "coarse": "coarse",
    "whole_class": "whole class",
    "no_merge": "split only",
    "stm": "STM",
}
#: The paper's gains on the VOC pseudo-labels closest to each CAM setting (ids of
#: ``paper_numbers.csv``): the noisy setting imitates MaskCLIP, the default one CLIP-ES.
#: ``coarse``: SAMRefiner over the coarse labels (Table 4); ``whole_class``: STM over refining
#: each class as one prompt set (Table 2c).
PAPER_GAIN_IDS: dict[bool, dict[str, str]] = {
    False: {"coarse": "t4_clipes", "whole_class": "t2c_clipes_gain"},
    True: {"coarse": "t4_maskclip", "whole_class": "t2c_maskclip_gain"},
}
PAPER_SOURCE = {False: "CLIP-ES", True: "MaskCLIP"}
#: Options of ``cam_scores`` for a noisier coarse map (closer to MaskCLIP than to CLIP-ES):
#: more fragmented objects, more wrong-class blobs, wider over- and under-extension, blobbier
#: outlines. The default experiment uses the simulator's own defaults.
NOISY_CAM: dict[str, Any] = {
    "over_extension": (0.1, 0.45),
    "under_extension": (0.1, 0.5),
    "wobble": 0.15,
    "p_fragment": 0.6,
    "p_wrong_class": 0.4,
}
#: mu values of the sweep: 0 turns the box rule off, 2 forbids every merge (= no_merge).
MU_SWEEP: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 2.0)
PRESETS: tuple[str, ...] = ("paper", "reference")


@dataclass(frozen=True)
class Scale:
    """Experiment size.

    Attributes:
      name: ``"smoke"`` or ``"mini"``.
      n_scenes: test-split scenes used (the first ``n_scenes`` seeds).
      size: image side in pixels.
    """

    name: str
    n_scenes: int
    size: int = 256


SCALES: dict[str, Scale] = {
    "smoke": Scale("smoke", 3),
    "mini": Scale("mini", 24),
}


@dataclass(frozen=True)
class SemanticSample:
    """One scene: image, ground truth and coarse labels.

    Attributes:
      seed: the scene seed (test split).
      image: HxWx3 uint8 RGB.
      gt: HxW uint8 ground-truth labels (0 background, 1..7 classes).
      coarse: HxW uint8 CAM-like coarse labels.
    """

    seed: int
    image: np.ndarray
    gt: np.ndarray
    coarse: np.ndarray


@dataclass
class STMExperiment:
    """All tables of one run (mIoU in percent).

    Attributes:
      ablation: one row per (preset, method): ``miou``, ``delta_vs_coarse``,
        ``delta_vs_whole_class``, ``regions_per_image``.
      mu_sweep: one row per (preset, mu) of STM: ``miou``, ``delta_vs_no_merge``,
        ``regions_per_image``.
      merge_rules: one row per (preset, conflict, dropped) for STM at mu = 0.5: ``miou``,
        ``contested_pixels`` (claimed by two classes), ``contested_correct`` (% of them labelled
        as in the ground truth), ``released_pixels`` (coarse class pixels no region claims) and
        ``released_truly_background`` (% of them that are background in the ground truth).
      per_class: per-class IoU, one row per (preset, method, class).
      data: description of the data; every table also carries it with ``model`` and ``preset``.
      model: model name.
      scale: the scale's name (``""`` when run with a custom :class:`Scale`).
      noisy: whether the coarse labels are the noisier :data:`NOISY_CAM` ones.
    """

    ablation: pd.DataFrame
    mu_sweep: pd.DataFrame
    merge_rules: pd.DataFrame
    per_class: pd.DataFrame
    data: str
    model: str
    scale: str = ""
    noisy: bool = False

    @property
    def label(self) -> str:
        """What produced the tables (scale, model, data, presets), for captions."""
        presets = ", ".join(dict.fromkeys(self.ablation["preset"]))
        if self.scale in ("smoke", "mini", "paper"):
            return str(RunLabel(self.scale, self.model, self.data, presets))
        return f"this project, model={self.model}, data={self.data}, preset={presets}"


def make_samples(
    n_scenes: int, size: int = 256, start: int = 0, cam_options: Mapping[str, Any] | None = None
) -> list[SemanticSample]:
    """Test-split semantic scenes with CAM-like coarse labels (deterministic).

    Arguments:
      n_scenes: number of scenes.
      size: image side in pixels.
      start: offset into the test split.
      cam_options: keyword options of ``cam_scores`` (e.g. :data:`NOISY_CAM`), or None for the
        simulator's defaults.

    Returns:
      list[SemanticSample]
    """
    samples = []
    for seed in split_seeds("test", n_scenes, start):
        scene = make_semantic_scene(seed, size=size)
        # The simulator's logistic saturates far from an outline; the overflow is harmless.
        with np.errstate(over="ignore"):
            coarse = cam_coarse_semantic(scene.semantic, seed, scene.instances, scene.labels,
                                         NUM_CLASSES, **dict(cam_options or {}))
        samples.append(SemanticSample(seed, scene.image, scene.semantic, coarse))
    return samples


def describe_data(samples: Sequence[SemanticSample], noise: str = "default") -> str:
    """One-line description of the samples for table labels.

    Arguments:
      samples: the experiment's samples.
      noise: name of the CAM simulator setting (``"default"`` or ``"noisy"``).

    Returns:
      str: split, seed range, count, image size and the kind of coarse labels.
    """
    seeds = [s.seed for s in samples]
    size = samples[0].image.shape[0] if samples else 0
    return (f"synthetic semantic scenes, test seeds {min(seeds, default=0)}.."
            f"{max(seeds, default=0)} (n={len(samples)}, {size} px), CAM-like coarse labels "
            f"({noise})")


def _mu_key(mu: float) -> str:
    """Setting name of STM at one mu."""
    return f"stm mu={mu:g}"


def _refine_sample(
    sample: SemanticSample, refiner: SAMRefiner, embedding: ImageEmbedding, mus: Sequence[float]
) -> tuple[dict[str, tuple[np.ndarray, int]], dict[str, tuple[int, int, int, int]]]:
    """Every refined setting of one scene.

    Returns:
      (setting name -> (HxW labels, number of regions), merge-back rule name -> (contested
      pixels, contested pixels labelled right, released pixels, released pixels that are
      background in the ground truth)).
    """
    cache: dict[bytes, SemanticRefinement] = {}

    def refine(mode: str, mu: float = 0.5) -> SemanticRefinement:
        # Identical region sets give identical refinements: refine each set once.
        regions = build_regions(sample.coarse, mode, MergeRule(mu=mu))
        key = mode.encode() + hashlib.sha1(regions.signature()).digest()
        if key not in cache:
            cache[key] = refine_semantic(sample.image, sample.coarse, refiner, mode, mu,
                                         embedding=embedding)
        return cache[key]

    out: dict[str, tuple[np.ndarray, int]] = {}
    rule_stats: dict[str, tuple[int, int, int, int]] = {}
    for mode in ("whole_class", "no_merge"):
        res = refine(mode)
        out[mode] = (res.labels, len(res.regions))
    for mu in mus:
        res = refine("stm", mu)
        out[_mu_key(mu)] = (res.labels, len(res.regions))
        if mu == 0.5:
            out["stm"] = out[_mu_key(mu)]
            for conflict in CONFLICT_RULES:
                for dropped in DROPPED_RULES:
                    merged = res.remerge(conflict, dropped)
                    name = f"rules {conflict}/{dropped}"
                    out[name] = (merged.labels, len(res.regions))
                    contested, released = merged.conflicts, merged.released
                    rule_stats[name] = (
                        int(contested.sum()),
                        int((merged.labels[contested] == sample.gt[contested]).sum()),
                        int(released.sum()),
                        int((sample.gt[released] == 0).sum()),
                    )
    return out, rule_stats


def run_stm_experiment(
    scale: str | Scale = "mini",
    presets: Sequence[str] = PRESETS,
    mus: Sequence[float] = MU_SWEEP,
    model: str = DEFAULT_MODEL,
    sam: Sam | None = None,
    device: str = "cpu",
    progress: bool = False,
    noisy: bool = False,
) -> STMExperiment:
    """Coarse vs whole-class vs no-merge vs STM, a mu sweep and the merge-back rules.

    Arguments:
      scale: ``"smoke"``, ``"mini"`` or a :class:`Scale`.
      presets: refiner presets to run (each is one set of rows).
      mus: mu values of the sweep (0.5 is always included: it is the ``stm`` row).
      model: registered model name (used to load ``sam`` and to label the tables).
      sam: an already loaded model (``model`` then only labels the tables).
      device: torch device for loading ``model``.
      progress: print one line per scene.
      noisy: use the noisier CAM simulation :data:`NOISY_CAM` instead of the defaults.

    Returns:
      STMExperiment
    """
    if isinstance(scale, str) and scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; available: {', '.join(sorted(SCALES))}")
    scale = SCALES[scale] if isinstance(scale, str) else scale
    if not presets:
        raise ValueError("presets: give at least one preset name")
    if sam is None:
        sam = load_sam(model, device=device)
    samples = make_samples(scale.n_scenes, scale.size, cam_options=NOISY_CAM if noisy else None)
    data = describe_data(samples, "noisy" if noisy else "default")
    mus = sorted(set(float(m) for m in mus) | {0.5})
    refiners = {p: SAMRefiner(sam, get_preset(p)) for p in presets}
    labels = {p: refiners[p].config.describe() for p in presets}
    # (preset, setting) -> list of (prediction, ground truth) label maps.
    pairs: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    n_regions: dict[tuple[str, str], list[int]] = {}
    rule_counts: dict[tuple[str, str], np.ndarray] = {}

    def add(preset: str, setting: str, pred: np.ndarray, gt: np.ndarray, count: int) -> None:
        pairs.setdefault((preset, setting), []).append((pred, gt))
        n_regions.setdefault((preset, setting), []).append(count)

    for index, sample in enumerate(samples):
        embedding = next(iter(refiners.values())).encode(sample.image)  # shared by presets
        for preset, refiner in refiners.items():
            add(preset, "coarse", sample.coarse, sample.gt, 0)
            settings, rule_stats = _refine_sample(sample, refiner, embedding, mus)
            for setting, (pred, count) in settings.items():
                add(preset, setting, pred, sample.gt, count)
            for name, counts in rule_stats.items():
                total = rule_counts.setdefault((preset, name), np.zeros(4, np.int64))
                total += counts
        if progress:
            print(f"scene {index + 1}/{len(samples)} (seed {sample.seed}) done", flush=True)

    def score(preset: str, setting: str) -> tuple[float, pd.DataFrame]:
        s = score_label_maps(pairs[(preset, setting)], NUM_CLASSES + 1, CLASS_NAMES)
        return 100.0 * s.miou, s.table

    def regions_per_image(preset: str, setting: str) -> float:
        return float(np.mean(n_regions[(preset, setting)]))

    common = {"model": model, "data": data}
    ablation_rows, class_rows, sweep_rows, rule_rows = [], [], [], []
    for preset in presets:
        base = {"preset": labels[preset], **common}
        results = {m: score(preset, m) for m in METHODS}
        for method in METHODS:
            miou, table = results[method]
            ablation_rows.append({
                "method": method, "description": METHOD_LABELS[method], "miou": miou,
                "delta_vs_coarse": miou - results["coarse"][0],
                "delta_vs_whole_class": miou - results["whole_class"][0],
                "regions_per_image": regions_per_image(preset, method)
                if method != "coarse" else float("nan"),
                **base,
            })
            for class_id, row in table.iterrows():
                class_rows.append({"method": method, "class_id": int(class_id),
                                   "class_name": row["name"], "iou": 100.0 * row["iou"],
                                   "gt_pixels": int(row["gt_pixels"]), **base})
        no_merge = results["no_merge"][0]
        for mu in mus:
            miou, _ = score(preset, _mu_key(mu))
            sweep_rows.append({"mu": mu, "miou": miou, "delta_vs_no_merge": miou - no_merge,
                               "regions_per_image": regions_per_image(preset, _mu_key(mu)),
                               **base})
        for conflict in CONFLICT_RULES:
            for dropped in DROPPED_RULES:
                name = f"rules {conflict}/{dropped}"
                miou, _ = score(preset, name)
                contested, right, released, background = rule_counts[(preset, name)]
                rule_rows.append({"conflict": conflict, "dropped": dropped, "miou": miou,
                                  "contested_pixels": int(contested),
                                  "contested_correct": 100.0 * right / max(contested, 1),
                                  "released_pixels": int(released),
                                  "released_truly_background": 100.0 * background
                                  / max(released, 1),
                                  "default": conflict == "score" and dropped == "background",
                                  **base})
    return STMExperiment(
        ablation=pd.DataFrame(ablation_rows),
        mu_sweep=pd.DataFrame(sweep_rows),
        merge_rules=pd.DataFrame(rule_rows),
        per_class=pd.DataFrame(class_rows),
        data=data,
        model=model,
        scale=scale.name,
        noisy=noisy,
    )


def example_refinement(
    index: int = 0,
    preset: str = "paper",
    mode: str = "stm",
    mu: float = 0.5,
    size: int = 256,
    sam: Sam | None = None,
    model: str = DEFAULT_MODEL,
) -> tuple[SemanticSample, SemanticRefinement]:
    """One scene of the experiment and its refinement, for figures.

    Arguments:
      index: position of the scene in the test split.
      preset: refiner preset.
      mode: ``"stm"``, ``"no_merge"`` or ``"whole_class"``.
      mu: merge box-rule factor.
      size: image side in pixels.
      sam: an already loaded model, or None to load ``model``.
      model: registered model name.

    Returns:
      (SemanticSample, SemanticRefinement)
    """
    sample = make_samples(1, size, start=index)[0]
    sam = sam if sam is not None else load_sam(model)
    refiner = SAMRefiner(sam, get_preset(preset))
    return sample, refine_semantic(sample.image, sample.coarse, refiner, mode, mu)


def _paper_text(number_id: str) -> str:
    df = paper_numbers()
    return str(df.loc[df["id"] == number_id, "value_text"].iloc[0])


def ablation_view(result: STMExperiment) -> pd.DataFrame:
    """The ablation for the book: short row labels (preset, method), the paper's gains beside
    ours on the STM row (blank elsewhere), and no columns every row shares.

    Returns:
      DataFrame indexed by (preset, method), with two-level columns: ours (mIoU, its change over
      the coarse labels and over whole-class refinement, refined regions per image) and the
      paper's two changes.
    """
    ab = result.ablation
    t = pd.DataFrame({
        ("ours", "mIoU"): ab["miou"].to_numpy(),
        ("ours", "Δ coarse"): ab["delta_vs_coarse"].to_numpy(),
        ("ours", "Δ whole class"): ab["delta_vs_whole_class"].to_numpy(),
        ("ours", "regions"): ab["regions_per_image"].to_numpy(),
    }, index=pd.MultiIndex.from_arrays(
        [ab["preset"], ab["method"].map(SHORT_METHOD_LABELS)], names=["preset", "method"]))
    ids = PAPER_GAIN_IDS[result.noisy]
    stm_rows = [k for k in t.index if k[1] == SHORT_METHOD_LABELS["stm"]]
    t = with_paper(t, {k: _paper_text(ids["coarse"]) for k in stm_rows},
                   column=("paper", "Δ coarse"))
    return with_paper(t, {k: _paper_text(ids["whole_class"]) for k in stm_rows},
                      column=("paper", "Δ whole class"))


def gains_view(results: Mapping[str, STMExperiment]) -> pd.DataFrame:
    """The two gains the paper reports, ours beside the paper's, one row per (CAM setting,
    preset): STM over whole-class refinement (Table 2c) and SAMRefiner + STM over the coarse
    labels (Table 4).

    Arguments:
      results: CAM setting name -> experiment.

    Returns:
      DataFrame with two-level columns (gain, ours / paper).
    """
    rows, index = [], []
    for name, res in results.items():
        ids = PAPER_GAIN_IDS[res.noisy]
        stm = res.ablation[res.ablation["method"] == "stm"]
        for _, r in stm.iterrows():
            index.append((name, r["preset"]))
            rows.append([r["delta_vs_whole_class"], _paper_text(ids["whole_class"]),
                         r["delta_vs_coarse"], _paper_text(ids["coarse"])])
    cols = pd.MultiIndex.from_product(
        [["STM over whole class", "SAMRefiner + STM over coarse"], ["ours", "paper"]])
    return pd.DataFrame(rows, columns=cols,
                        index=pd.MultiIndex.from_tuples(index, names=["coarse labels", "preset"]))


def merge_rules_view(result: STMExperiment) -> pd.DataFrame:
    """The merge-back rules for the book: short column names, the default rule marked, no
    columns every row shares. ``contested right``: contested pixels labelled as in the ground
    truth; ``released bg``: released pixels that are background in the ground truth.

    Returns:
      DataFrame indexed by (preset, conflict, dropped).
    """
    mr = result.merge_rules
    return pd.DataFrame({
        "mIoU": mr["miou"].to_numpy(),
        "contested px": mr["contested_pixels"].to_numpy(),
        "contested right (%)": mr["contested_correct"].to_numpy(),
        "released px": mr["released_pixels"].to_numpy(),
        "released bg (%)": mr["released_truly_background"].to_numpy(),
        "default": np.where(mr["default"], "yes", ""),
    }, index=pd.MultiIndex.from_frame(mr[["preset", "conflict", "dropped"]]))


def format_tables(result: STMExperiment) -> str:
    """The tables as plain text (what ``main`` prints).

    Arguments:
      result: an experiment's output.

    Returns:
      str: model, data and the three summary tables, mIoU in percent with two decimals.
    """
    pd_opts = {"float_format": lambda v: f"{v:.2f}", "index": False}
    parts = [f"model: {result.model}", f"data: {result.data}", "",
             "mIoU (%) by method:",
             result.ablation[["preset", "method", "miou", "delta_vs_coarse",
                              "delta_vs_whole_class", "regions_per_image"]].to_string(**pd_opts),
             "", "STM mu sweep:",
             result.mu_sweep[["preset", "mu", "miou", "delta_vs_no_merge",
                              "regions_per_image"]].to_string(**pd_opts),
             "", "STM merge-back rules (mu = 0.5):",
             result.merge_rules[["preset", "conflict", "dropped", "miou", "contested_pixels",
                                 "contested_correct", "released_pixels",
                                 "released_truly_background"]].to_string(**pd_opts)]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiment and print its tables.

    Arguments:
      argv: command-line arguments (``--scale``, ``--preset``, ``--model``, ``--threads``,
        ``--noisy``, ``--progress``), or None for ``sys.argv``.

    Returns:
      int: exit status 0.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="mini")
    parser.add_argument("--preset", action="append", choices=sorted(CONFIG_PRESETS),
                        help="preset to run (repeatable; default: paper and reference)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--noisy", action="store_true",
                        help="noisier CAM-like coarse labels (NOISY_CAM)")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = run_stm_experiment(args.scale, tuple(args.preset or PRESETS), model=args.model,
                                progress=args.progress, noisy=args.noisy)
    print(format_tables(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
