"""The object classes: names, shape builders, pose rules, palettes and texture statistics.

Class ids are positions in ``CLASS_NAMES`` (0 = background). Each class has its own shape family
and its own colour/texture statistics, but the palettes deliberately overlap (figures' clothes and
vehicles' paint take any hue, backgrounds can borrow object palettes, and a few colours are drawn
at random) so that colour alone never separates the classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .shapes import (
    Builder,
    build_branch,
    build_building,
    build_cell,
    build_figure,
    build_ring,
    build_star,
    build_vehicle,
)


@dataclass(frozen=True)
class ColourSpec:
    """An HSV box a colour role is drawn from.

    Attributes:
      hue: (low, high) hue in degrees (high may exceed 360; hues wrap).
      sat: (low, high) saturation in [0, 1].
      val: (low, high) value in [0, 1].
      stripes: whether the object's stripe pattern (when it has one) shows on this role.
    """

    hue: tuple[float, float]
    sat: tuple[float, float]
    val: tuple[float, float]
    stripes: bool = True


@dataclass(frozen=True)
class ClassSpec:
    """Everything that defines one object class.

    Attributes:
      name: class name.
      builder: draws one random instance in object coordinates.
      max_tilt: largest rotation in radians (pi = any orientation).
      palette: colour role -> HSV box.
      noise_amp: amplitude of the multiplicative value-noise texture.
      noise_cells: noise lattice cells across the object (larger = finer grain).
      shading: strength of the darkening towards the outline (rounded look).
      sheen: strength of a linear brightness gradient across the object (specular look).
      stripe_prob: chance of a stripe pattern (before the style's own stripe chance).
      stripe_period: (low, high) stripe period as a fraction of the object extent.
      stripe_angle: stripe direction in the object frame (radians), or None for random.
    """

    name: str
    builder: Builder
    max_tilt: float
    palette: dict[str, ColourSpec]
    noise_amp: float
    noise_cells: float
    shading: float
    sheen: float
    stripe_prob: float
    stripe_period: tuple[float, float]
    stripe_angle: float | None = None


_ANY = (0.0, 360.0)

CLASS_SPECS: tuple[ClassSpec, ...] = (
    ClassSpec(
        "cell",
        build_cell,
        max_tilt=3.1416,
        palette={
            "body": ColourSpec((300, 350), (0.2, 0.5), (0.75, 0.95)),
            "vacuole": ColourSpec((170, 220), (0.05, 0.3), (0.85, 1.0)),
            "nucleus": ColourSpec((255, 300), (0.45, 0.75), (0.4, 0.65)),
            "nucleolus": ColourSpec((250, 290), (0.6, 0.9), (0.15, 0.35)),
        },
        noise_amp=0.22,
        noise_cells=5.0,
        shading=0.35,
        sheen=0.05,
        stripe_prob=0.0,
        stripe_period=(0.1, 0.2),
    ),
    ClassSpec(
        "star",
        build_star,
        max_tilt=3.1416,
        palette={
            "arm": ColourSpec((12, 45), (0.65, 1.0), (0.75, 1.0)),
            "core": ColourSpec((350, 385), (0.65, 1.0), (0.55, 0.85)),
            "spot": ColourSpec((45, 60), (0.7, 1.0), (0.85, 1.0)),
        },
        noise_amp=0.3,
        noise_cells=22.0,
        shading=0.2,
        sheen=0.1,
        stripe_prob=0.1,
        stripe_period=(0.08, 0.15),
    ),
    ClassSpec(
        "ring",
        build_ring,
        max_tilt=3.1416,
        palette={
            "band": ColourSpec((38, 55), (0.3, 0.75), (0.6, 0.92)),
            "inlay": ColourSpec((190, 230), (0.0, 0.2), (0.65, 0.95)),
            "gem": ColourSpec(_ANY, (0.7, 1.0), (0.55, 0.95)),
        },
        noise_amp=0.06,
        noise_cells=6.0,
        shading=0.3,
        sheen=0.35,
        stripe_prob=0.05,
        stripe_period=(0.05, 0.1),
    ),
    ClassSpec(
        "branch",
        build_branch,
        max_tilt=0.7,
        palette={
            "bark": ColourSpec((18, 38), (0.45, 0.8), (0.22, 0.5)),
            "leaf": ColourSpec((80, 140), (0.5, 0.9), (0.35, 0.7)),
        },
        noise_amp=0.15,
        noise_cells=12.0,
        shading=0.0,
        sheen=0.1,
        stripe_prob=0.0,
        stripe_period=(0.1, 0.2),
    ),
    ClassSpec(
        "figure",
        build_figure,
        max_tilt=0.35,
        palette={
            "skin": ColourSpec((15, 35), (0.25, 0.6), (0.5, 0.95), stripes=False),
            "shirt": ColourSpec(_ANY, (0.45, 0.9), (0.4, 0.9)),
            "trousers": ColourSpec((200, 245), (0.3, 0.8), (0.2, 0.55), stripes=False),
            "shoe": ColourSpec((0, 40), (0.2, 0.6), (0.08, 0.3), stripes=False),
            "hat": ColourSpec(_ANY, (0.5, 1.0), (0.3, 0.8)),
        },
        noise_amp=0.12,
        noise_cells=8.0,
        shading=0.15,
        sheen=0.1,
        stripe_prob=0.35,
        stripe_period=(0.06, 0.12),
    ),
    ClassSpec(
        "vehicle",
        build_vehicle,
        max_tilt=0.25,
        palette={
            "paint": ColourSpec(_ANY, (0.55, 1.0), (0.45, 0.95), stripes=False),
            "cargo": ColourSpec(_ANY, (0.0, 0.3), (0.55, 0.95)),
            "glass": ColourSpec((185, 215), (0.2, 0.5), (0.2, 0.45), stripes=False),
            "tyre": ColourSpec(_ANY, (0.0, 0.15), (0.05, 0.18), stripes=False),
            "hub": ColourSpec(_ANY, (0.0, 0.1), (0.55, 0.85), stripes=False),
            "light": ColourSpec((45, 60), (0.1, 0.5), (0.9, 1.0), stripes=False),
        },
        noise_amp=0.05,
        noise_cells=6.0,
        shading=0.2,
        sheen=0.3,
        stripe_prob=0.2,
        stripe_period=(0.08, 0.15),
    ),
    ClassSpec(
        "building",
        build_building,
        max_tilt=0.12,
        palette={
            "wall": ColourSpec((10, 45), (0.05, 0.5), (0.45, 0.85)),
            "roof": ColourSpec((355, 385), (0.35, 0.8), (0.25, 0.55), stripes=False),
            "window": ColourSpec((195, 230), (0.25, 0.6), (0.12, 0.35), stripes=False),
            "window_lit": ColourSpec((42, 56), (0.45, 0.8), (0.85, 1.0), stripes=False),
            "door": ColourSpec((18, 35), (0.4, 0.7), (0.18, 0.4), stripes=False),
        },
        noise_amp=0.12,
        noise_cells=14.0,
        shading=0.05,
        sheen=0.15,
        stripe_prob=0.55,
        stripe_period=(0.03, 0.06),
        stripe_angle=1.5708,  # horizontal courses of bricks
    ),
)

CLASS_NAMES: tuple[str, ...] = ("background",) + tuple(spec.name for spec in CLASS_SPECS)
NUM_CLASSES: int = len(CLASS_SPECS)


def class_spec(class_id: int) -> ClassSpec:
    """The spec of class ``class_id`` (1..NUM_CLASSES)."""
    if not 1 <= class_id <= NUM_CLASSES:
        raise ValueError(f"class id must be in 1..{NUM_CLASSES}, got {class_id}")
    return CLASS_SPECS[class_id - 1]
