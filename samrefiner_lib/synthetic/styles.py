"""Rendering styles: the knobs that define an image distribution.

``"default"`` is the training and main evaluation distribution. ``"shifted"`` is a deliberate
domain shift for adaptation experiments; it keeps the same classes, shapes and ground-truth rules
but changes, relative to ``"default"``:

- palette: every object hue is rotated by 150 degrees and saturation is lowered (pastel and
  muted colours instead of the usual ones), backgrounds are darker and more saturated;
- texture statistics: object textures are finer and stronger, and stripes are far more common
  (on objects and backgrounds);
- object scale: objects are smaller on average (extent 12-38 % of the shorter image side
  instead of 18-50 %);
- lighting: a strong coloured cast, a spot-light falloff and a gamma change, more sensor noise
  and more blur; drop shadows are rarer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    """Parameters of one scene distribution.

    Attributes:
      name: key in ``STYLES``.
      hue_shift: degrees added to every object palette hue.
      sat_scale: factor on object palette saturation.
      val_scale: factor on object palette value (brightness).
      random_colour_prob: chance that an object colour role ignores its class palette, so that
        colour alone never identifies a class.
      texture_amp: factor on object texture amplitudes.
      texture_cells: factor on object noise frequency (larger = finer).
      stripe_prob: chance that an object gets a stripe pattern.
      extent: (low, high) object extent as a fraction of the shorter image side, log-uniform.
      background_weights: relative weights of the background kinds ``gradient``, ``noise``,
        ``stripes``, ``tiles``, ``similar`` (a background coloured like an object class).
      background_sat: (low, high) saturation of background colours.
      background_val: (low, high) value of background colours.
      clutter: (low, high) number of distractor items per square of the shorter image side.
      shadow_prob: chance that an object casts a soft drop shadow.
      cast: maximum per-channel multiplicative colour cast of the lighting.
      light_gradient: maximum strength of the linear illumination gradient.
      spotlight: maximum strength of a radial spot-light falloff.
      gamma: (low, high) gamma applied to the final image.
      blur_sigma: (low, high) Gaussian blur sigma in pixels at 256 px.
      noise_sigma: (low, high) standard deviation of additive Gaussian noise (image in [0, 1]).
    """

    name: str
    hue_shift: float
    sat_scale: float
    val_scale: float
    random_colour_prob: float
    texture_amp: float
    texture_cells: float
    stripe_prob: float
    extent: tuple[float, float]
    background_weights: dict[str, float]
    background_sat: tuple[float, float]
    background_val: tuple[float, float]
    clutter: tuple[int, int]
    shadow_prob: float
    cast: float
    light_gradient: float
    spotlight: float
    gamma: tuple[float, float]
    blur_sigma: tuple[float, float]
    noise_sigma: tuple[float, float]


STYLES: dict[str, Style] = {
    "default": Style(
        name="default",
        hue_shift=0.0,
        sat_scale=1.0,
        val_scale=1.0,
        random_colour_prob=0.08,
        texture_amp=1.0,
        texture_cells=1.0,
        stripe_prob=0.15,
        extent=(0.18, 0.5),
        background_weights={
            "gradient": 0.25,
            "noise": 0.3,
            "stripes": 0.15,
            "tiles": 0.1,
            "similar": 0.2,
        },
        background_sat=(0.05, 0.55),
        background_val=(0.3, 0.9),
        clutter=(4, 30),
        shadow_prob=0.5,
        cast=0.06,
        light_gradient=0.15,
        spotlight=0.0,
        gamma=(0.9, 1.1),
        blur_sigma=(0.3, 0.9),
        noise_sigma=(0.005, 0.03),
    ),
    "shifted": Style(
        name="shifted",
        hue_shift=150.0,
        sat_scale=0.6,
        val_scale=0.9,
        random_colour_prob=0.08,
        texture_amp=1.6,
        texture_cells=2.0,
        stripe_prob=0.45,
        extent=(0.12, 0.38),
        background_weights={
            "gradient": 0.1,
            "noise": 0.25,
            "stripes": 0.3,
            "tiles": 0.15,
            "similar": 0.2,
        },
        background_sat=(0.3, 0.8),
        background_val=(0.2, 0.75),
        clutter=(10, 45),
        shadow_prob=0.2,
        cast=0.2,
        light_gradient=0.3,
        spotlight=0.5,
        gamma=(0.75, 1.3),
        blur_sigma=(0.6, 1.3),
        noise_sigma=(0.02, 0.05),
    ),
}


def get_style(name: str) -> Style:
    """Look up a style by name.

    Arguments:
      name: a key of ``STYLES``.

    Returns:
      Style: the parameters.

    Raises:
      ValueError: for an unknown name.
    """
    try:
        return STYLES[name]
    except KeyError:
        raise ValueError(f"unknown style {name!r}; expected one of {sorted(STYLES)}") from None
