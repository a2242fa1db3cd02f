"""Procedural scenes with exact ground truth, for training and benchmarking mask refinement.

``make_scene(seed)`` renders an image with several objects of seven classes (cells, stars,
rings/frames with holes, thin branches, articulated stick figures, vehicles, buildings), each made
of parts and sub-parts, placed with occlusion over textured, cluttered backgrounds, then lit,
blurred and noised. The ground truth holds the visible instance masks, class labels, per-instance
part and sub-part masks and a semantic map. ``make_semantic_scene(seed)`` makes scenes with a
few classes and clustered same-class instances, for semantic experiments. ``style="shifted"``
gives a documented domain shift (see ``styles``). Seeds are split into fixed, disjoint
train/val/test ranges (see ``splits``).

Everything is a deterministic function of the arguments: randomness comes only from
``np.random.default_rng`` seeded by the scene seed.
"""

from .classes import CLASS_NAMES, CLASS_SPECS, NUM_CLASSES
from .plotting import overlay_instances, overlay_parts, plot_examples
from .scenes import MIN_VISIBLE_FRACTION, Scene, make_scene, make_semantic_scene
from .splits import SPLITS, split_of, split_seeds
from .styles import STYLES, Style, get_style

__all__ = [
    "CLASS_NAMES",
    "CLASS_SPECS",
    "MIN_VISIBLE_FRACTION",
    "NUM_CLASSES",
    "SPLITS",
    "STYLES",
    "Scene",
    "Style",
    "get_style",
    "make_scene",
    "make_semantic_scene",
    "overlay_instances",
    "overlay_parts",
    "plot_examples",
    "split_of",
    "split_seeds",
]
