"""Object geometry: a tiny vector sketch rasterised with OpenCV, and one builder per class.

A builder draws an object in its own coordinates (roughly the square [-1, 1]^2, y pointing down)
as a list of filled polygons, ellipses and thick polylines. Each primitive paints one *region*;
regions are the finest level of the part hierarchy:

- every region belongs to exactly one *part* (so the parts partition the object);
- a region flagged ``subpart`` is also reported on its own, as a sub-part of its part
  (e.g. a wheel's hub, one spike of a star, one window of a building).

Later primitives overwrite earlier ones, and region 0 erases (for holes). ``Sketch.render``
rotates, scales and optionally mirrors the sketch, then rasterises it into a tight uint8 label
canvas with a margin, at 1/16 pixel vertex precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

_SHIFT = 4  # OpenCV fixed-point bits: vertices are placed at 1/16 pixel
_ONE = 1 << _SHIFT


@dataclass(frozen=True)
class RegionInfo:
    """What one region of a sketch is.

    Attributes:
      part: index into the sketch's part names.
      subpart: whether the region is also reported as a sub-part of ``part``.
      role: colour role, a key of the class palette.
    """

    part: int
    subpart: bool
    role: str


@dataclass(frozen=True)
class RasterObject:
    """A rasterised object, ready to be painted and placed.

    Attributes:
      labels: hxw uint8 region ids, 0 = outside the object.
      part_names: name of each part, index = part id.
      region_part: (K+1,) int64 part id of each region id, -1 for region 0.
      region_subpart: (K+1,) bool, whether each region id is a reported sub-part.
      region_role: (K+1,) colour role of each region id ("" for region 0).
    """

    labels: np.ndarray
    part_names: tuple[str, ...]
    region_part: np.ndarray
    region_subpart: np.ndarray
    region_role: tuple[str, ...]


class Sketch:
    """Collects drawing primitives in object coordinates; see the module docstring."""

    def __init__(self) -> None:
        self.part_names: list[str] = []
        self.regions: list[RegionInfo] = []
        # (kind, region, points Mx2, extra): kind in {"poly", "ellipse", "line"}.
        self._ops: list[tuple[str, int, np.ndarray, dict]] = []

    def part(self, name: str) -> int:
        """Register a part and return its id (parts are numbered in creation order)."""
        self.part_names.append(name)
        return len(self.part_names) - 1

    def region(self, part: int, role: str, subpart: bool = False) -> int:
        """Register a region of ``part`` painted with colour ``role``; return its id (>= 1)."""
        if len(self.regions) >= 254:
            raise ValueError("a sketch holds at most 254 regions")
        self.regions.append(RegionInfo(part, subpart, role))
        return len(self.regions)

    def poly(self, points: np.ndarray | Sequence[Sequence[float]], region: int) -> None:
        """Fill a polygon given as Mx2 (x, y) vertices."""
        self._ops.append(("poly", region, np.asarray(points, np.float64).reshape(-1, 2), {}))

    def ellipse(
        self,
        centre: Sequence[float],
        axes: Sequence[float],
        angle_deg: float,
        region: int,
        thickness: float | None = None,
    ) -> None:
        """Fill an ellipse, or draw its outline ``thickness`` object units wide.

        Arguments:
          centre: (x, y).
          axes: (a, b) semi-axes.
          angle_deg: rotation of the first axis, degrees, clockwise on screen (y down).
          region: region id (0 erases).
          thickness: None fills; a number draws an outline band of that width.
        """
        extra = {"axes": (float(axes[0]), float(axes[1])), "angle": float(angle_deg)}
        extra["thickness"] = thickness
        self._ops.append(("ellipse", region, np.asarray(centre, np.float64).reshape(1, 2), extra))

    def circle(
        self, centre: Sequence[float], radius: float, region: int, thickness: float | None = None
    ) -> None:
        """Fill a circle (or draw its outline); see ``ellipse``."""
        self.ellipse(centre, (radius, radius), 0.0, region, thickness)

    def line(
        self,
        points: np.ndarray | Sequence[Sequence[float]],
        thickness: float,
        region: int,
        absolute: bool = False,
        closed: bool = False,
    ) -> None:
        """Draw a thick polyline with round caps.

        Arguments:
          points: Mx2 (x, y) vertices.
          thickness: width in object units, or in pixels of a 256-px image if ``absolute``
            (so thin structures stay thin whatever the object size).
          region: region id (0 erases).
          absolute: see ``thickness``.
          closed: join the last vertex to the first.
        """
        extra = {"thickness": float(thickness), "absolute": absolute, "closed": closed}
        self._ops.append(("line", region, np.asarray(points, np.float64).reshape(-1, 2), extra))

    def render(
        self, scale: float, angle: float, flip: bool, px_scale: float, margin: int
    ) -> RasterObject:
        """Rasterise the sketch.

        Arguments:
          scale: pixels per object unit.
          angle: rotation in radians (clockwise on screen).
          flip: mirror left-right before rotating.
          px_scale: image size / 256, for ``absolute`` line widths.
          margin: empty pixels kept around the object (room for blur and shadows).

        Returns:
          RasterObject: the label canvas and the region metadata.
        """
        c, s = math.cos(angle), math.sin(angle)
        rot = np.array([[c, -s], [s, c]]) * scale
        mirror = np.array([-1.0 if flip else 1.0, 1.0])
        ops = []
        lo = np.full(2, np.inf)
        hi = np.full(2, -np.inf)
        for kind, region, pts, extra in self._ops:
            p = (pts * mirror) @ rot.T
            if kind == "ellipse":
                a, b = extra["axes"][0] * scale, extra["axes"][1] * scale
                t = extra["thickness"]
                t_px = None if t is None else max(1, round(t * scale))
                ang = (-extra["angle"] if flip else extra["angle"]) + math.degrees(angle)
                reach = max(a, b) + (0 if t_px is None else t_px / 2)
                ops.append((kind, region, p, (a, b, ang, t_px)))
            elif kind == "line":
                t = extra["thickness"] * (px_scale if extra["absolute"] else scale)
                reach = t / 2 + 1
                ops.append((kind, region, p, (t, extra["closed"])))
            else:
                reach = 0.5
                ops.append((kind, region, p, None))
            lo = np.minimum(lo, p.min(0) - reach)
            hi = np.maximum(hi, p.max(0) + reach)
        if not ops:
            raise ValueError("empty sketch")
        offset = margin - np.floor(lo)
        w = int(np.ceil(hi[0] - lo[0])) + 2 * margin + 2
        h = int(np.ceil(hi[1] - lo[1])) + 2 * margin + 2
        canvas = np.zeros((h, w), np.uint8)
        for kind, region, p, extra in ops:
            q = np.round((p + offset) * _ONE).astype(np.int32)
            if kind == "poly":
                cv2.fillPoly(canvas, [q], int(region), cv2.LINE_8, _SHIFT)
            elif kind == "line":
                _thick_polyline(canvas, p + offset, extra[0], int(region), extra[1])
            else:
                a, b, ang, t_px = extra
                axes = (max(round(a * _ONE), 1), max(round(b * _ONE), 1))
                cv2.ellipse(
                    canvas,
                    (int(q[0, 0]), int(q[0, 1])),
                    axes,
                    ang,
                    0.0,
                    360.0,
                    int(region),
                    -1 if t_px is None else t_px,
                    cv2.LINE_8,
                    _SHIFT,
                )
        region_part = np.array([-1] + [r.part for r in self.regions], np.int64)
        region_subpart = np.array([False] + [r.subpart for r in self.regions], bool)
        region_role = ("",) + tuple(r.role for r in self.regions)
        return RasterObject(
            canvas, tuple(self.part_names), region_part, region_subpart, region_role
        )


def _thick_polyline(
    canvas: np.ndarray, points: np.ndarray, width: float, value: int, closed: bool
) -> None:
    """Draw a polyline of fractional ``width`` pixels with round joins, in place.

    OpenCV's own thick lines only come in odd widths (thickness 2 draws 3 px), which makes
    thin structures too thick; here each segment is a filled quad and each vertex a disc, both
    at sub-pixel precision. Widths under 1.5 px fall back to a 1-px 8-connected line.

    Arguments:
      canvas: hxw uint8 label canvas.
      points: Mx2 (x, y) vertices in canvas pixels.
      width: line width in pixels.
      value: label to draw.
      closed: join the last vertex to the first.
    """
    q = np.round(points * _ONE).astype(np.int32)
    if width < 1.5:
        cv2.polylines(canvas, [q], closed, value, 1, cv2.LINE_8, _SHIFT)
        return
    # OpenCV also fills the pixels its polygon edges pass through, about half a pixel outside
    # on each side: draw one pixel narrower to end up at the requested width.
    half = (width - 1.0) / 2
    pts = np.concatenate([points, points[:1]]) if closed else points
    d = np.diff(pts, axis=0)
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 1e-9
    normal = np.stack([-d[keep, 1], d[keep, 0]], 1) / length[keep, None] * half
    a, b = pts[:-1][keep], pts[1:][keep]
    quads = np.stack([a + normal, b + normal, b - normal, a - normal], 1)
    for quad in np.round(quads * _ONE).astype(np.int32):
        cv2.fillConvexPoly(canvas, quad, value, cv2.LINE_8, _SHIFT)
    radius = max(int(round(half * _ONE)), 1)
    for x, y in q:
        cv2.circle(canvas, (int(x), int(y)), radius, value, -1, cv2.LINE_8, _SHIFT)


# --------------------------------------------------------------------------------------------
# Geometry helpers (object coordinates).


def blob_outline(
    rng: np.random.Generator,
    centre: Sequence[float],
    radius: float,
    roughness: float,
    aspect: float = 1.0,
    n: int = 48,
) -> np.ndarray:
    """A smooth closed outline: a circle whose radius carries a few random low harmonics.

    Arguments:
      rng: source of randomness.
      centre: (x, y).
      radius: mean radius.
      roughness: amplitude of the harmonics relative to the radius.
      aspect: x is multiplied by this (an elongated blob when < 1).
      n: number of vertices.

    Returns:
      np.ndarray: nx2 vertices.
    """
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 6):
        r += rng.uniform(0.0, roughness) / (k - 1) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    r *= radius
    return np.stack([centre[0] + aspect * r * np.cos(t), centre[1] + r * np.sin(t)], 1)


def _wobbly_path(
    rng: np.random.Generator,
    start: np.ndarray,
    direction: float,
    length: float,
    steps: int,
    wobble: float,
) -> np.ndarray:
    """A random-walk polyline: ``steps`` segments, heading drifting by ``wobble`` rad per step.

    Returns:
      np.ndarray: (steps+1)x2 vertices starting at ``start``.
    """
    pts = [np.asarray(start, np.float64)]
    heading = direction
    step = length / steps
    for _ in range(steps):
        heading += rng.normal(0.0, wobble)
        pts.append(pts[-1] + step * np.array([math.cos(heading), math.sin(heading)]))
    return np.stack(pts)


def _limb(origin: np.ndarray, angle: float, length: float) -> np.ndarray:
    """End point of a segment from ``origin`` at ``angle`` (0 = straight down, radians)."""
    return origin + length * np.array([math.sin(angle), math.cos(angle)])


# --------------------------------------------------------------------------------------------
# Class builders. Each returns a Sketch spanning roughly [-1, 1]^2.


def build_cell(rng: np.random.Generator) -> Sketch:
    """A smooth blob (a cell): body, nucleus with a nucleolus, sometimes vacuoles.

    Arguments:
      rng: source of randomness.

    Returns:
      Sketch: the object, spanning roughly [-1, 1]^2 in object coordinates.
    """
    sk = Sketch()
    body, nucleus = sk.part("body"), sk.part("nucleus")
    aspect = rng.uniform(0.6, 1.0)
    sk.poly(
        blob_outline(rng, (0, 0), 1.0, rng.uniform(0.05, 0.25), aspect), sk.region(body, "body")
    )
    if rng.random() < 0.4:
        for _ in range(rng.integers(1, 3)):
            ang, rad = rng.uniform(0, 2 * np.pi), rng.uniform(0.45, 0.65)
            c = (aspect * rad * math.cos(ang), rad * math.sin(ang))
            sk.circle(c, rng.uniform(0.1, 0.18), sk.region(body, "vacuole", subpart=True))
    nr = rng.uniform(0.3, 0.45)
    ang, rad = rng.uniform(0, 2 * np.pi), rng.uniform(0.0, 0.25)
    nc = (aspect * rad * math.cos(ang), rad * math.sin(ang))
    sk.poly(blob_outline(rng, nc, nr, 0.12, rng.uniform(0.75, 1.0)), sk.region(nucleus, "nucleus"))
    oc = (nc[0] + rng.uniform(-0.3, 0.3) * nr, nc[1] + rng.uniform(-0.3, 0.3) * nr)
    sk.circle(oc, nr * rng.uniform(0.25, 0.4), sk.region(nucleus, "nucleolus", subpart=True))
    return sk


def build_star(rng: np.random.Generator) -> Sketch:
    """A star / spiky polygon: a core disc and n separately reported spikes (sub-parts of arms).

    Arguments:
      rng: source of randomness.

    Returns:
      Sketch: the object, spanning roughly [-1, 1]^2 in object coordinates.
    """
    sk = Sketch()
    arms, core = sk.part("arms"), sk.part("core")
    n = int(rng.integers(5, 12))
    r_in = rng.uniform(0.3, 0.5)
    step = 2 * np.pi / n
    phase = rng.uniform(0, 2 * np.pi)
    bend = rng.uniform(-0.35, 0.35) * step if rng.random() < 0.5 else 0.0
    tips = phase + step * np.arange(n) + rng.uniform(-0.12, 0.12, n) * step
    tip_r = rng.uniform(0.75, 1.0, n)
    mids = tips + step / 2
    for i in range(n):
        a0, a1 = mids[i - 1], mids[i]
        r0, r1 = r_in * rng.uniform(0.9, 1.1, 2)
        pts = [
            (0.0, 0.0),
            (r0 * math.cos(a0), r0 * math.sin(a0)),
            (tip_r[i] * math.cos(tips[i] + bend), tip_r[i] * math.sin(tips[i] + bend)),
            (r1 * math.cos(a1), r1 * math.sin(a1)),
        ]
        sk.poly(pts, sk.region(arms, "arm", subpart=True))
    sk.circle((0, 0), r_in * rng.uniform(0.85, 1.05), sk.region(core, "core"))
    if rng.random() < 0.5:
        sk.circle((0, 0), r_in * rng.uniform(0.3, 0.45), sk.region(core, "spot", subpart=True))
    return sk


def build_ring(rng: np.random.Generator) -> Sketch:
    """An object with holes: a round ring, a square frame or two linked loops, with inlay/gems.

    Arguments:
      rng: source of randomness.

    Returns:
      Sketch: the object, spanning roughly [-1, 1]^2 in object coordinates.
    """
    sk = Sketch()
    band_w = rng.uniform(0.18, 0.36)
    kind = rng.choice(3, p=[0.5, 0.25, 0.25])
    centre_line: list[tuple[float, float]] = []  # points where gems may sit
    if kind == 0:
        band = sk.part("band")
        ax = (1.0 - band_w / 2, (1.0 - band_w / 2) * rng.uniform(0.7, 1.0))
        ang = rng.uniform(0, 180)
        sk.ellipse((0, 0), ax, ang, sk.region(band, "band"), thickness=band_w)
        if rng.random() < 0.5:
            sk.ellipse((0, 0), ax, ang, sk.region(sk.part("inlay"), "inlay"), band_w * 0.3)
        th = math.radians(ang)
        for t in rng.uniform(0, 2 * np.pi, 4):
            x, y = ax[0] * math.cos(t), ax[1] * math.sin(t)
            centre_line.append(
                (x * math.cos(th) - y * math.sin(th), x * math.sin(th) + y * math.cos(th))
            )
    elif kind == 1:
        band = sk.part("frame")
        hw, hh = 1.0 - band_w / 2, (1.0 - band_w / 2) * rng.uniform(0.65, 1.0)
        corners = [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
        sk.line(corners, band_w, sk.region(band, "band"), closed=True)
        if rng.random() < 0.5:
            sk.line(corners, band_w * 0.3, sk.region(sk.part("inlay"), "inlay"), closed=True)
        centre_line = list(corners)
    else:
        r = rng.uniform(0.45, 0.55)
        loops = [sk.part("loop 1"), sk.part("loop 2")]
        for part, cx in zip(loops, (-0.95 + r, 0.95 - r), strict=True):
            sk.ellipse((cx, 0), (r, r * rng.uniform(0.8, 1.0)), 0, sk.region(part, "band"), band_w)
            centre_line.append((cx, -r))
    n_gems = int(rng.integers(0, 4))
    if n_gems:
        gems = sk.part("gems")
        for i in rng.permutation(len(centre_line))[:n_gems]:
            sk.circle(centre_line[i], band_w * rng.uniform(0.5, 0.7), sk.region(gems, "gem", True))
    return sk


def build_branch(rng: np.random.Generator) -> Sketch:
    """A thin branching structure: trunk, primary branches with twigs, sometimes leaves.

    Line widths are absolute (1-4 px at 256 px) so branches stay thin at any scale.

    Arguments:
      rng: source of randomness.

    Returns:
      Sketch: the object, spanning roughly [-1, 1]^2 in object coordinates.
    """
    sk = Sketch()
    trunk_part = sk.part("trunk")
    t0 = rng.uniform(2.0, 4.0)
    trunk = _wobbly_path(rng, np.array([0.0, 0.9]), -np.pi / 2, 1.8, 6, 0.12)
    tips: list[tuple[np.ndarray, float]] = []
    leaves = rng.random() < 0.35
    n_primary = int(rng.integers(2, 6))
    side = 1.0 if rng.random() < 0.5 else -1.0
    for k in range(n_primary):
        part = sk.part(f"branch {k + 1}")
        pos = rng.uniform(0.2, 0.9) * (len(trunk) - 1)
        i = int(pos)
        origin = trunk[i] + (pos - i) * (trunk[min(i + 1, len(trunk) - 1)] - trunk[i])
        heading = -np.pi / 2 + side * rng.uniform(0.45, 1.15)
        side = -side
        length = rng.uniform(0.45, 0.9)
        path = _wobbly_path(rng, origin, heading, length, 4, 0.15)
        tp = t0 * rng.uniform(0.5, 0.7)
        sk.line(path, tp, sk.region(part, "bark"), absolute=True)
        tips.append((path[-1], heading))
        for _ in range(int(rng.integers(0, 3))):
            j = int(rng.integers(1, len(path) - 1))
            h2 = heading + rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.0)
            twig = _wobbly_path(rng, path[j], h2, length * rng.uniform(0.3, 0.5), 3, 0.15)
            sk.line(twig, max(1.0, tp * 0.6), sk.region(part, "bark", subpart=True), absolute=True)
            tips.append((twig[-1], h2))
    sk.line(trunk, t0, sk.region(trunk_part, "bark"), absolute=True)
    if leaves:
        leaf_part = sk.part("leaves")
        size = rng.uniform(0.06, 0.1)
        for tip, heading in tips:
            c = tip + size * np.array([math.cos(heading), math.sin(heading)])
            sk.ellipse(c, (size, size * 0.5), math.degrees(heading), sk.region(leaf_part, "leaf"))
    return sk


def build_figure(rng: np.random.Generator) -> Sketch:
    """An articulated stick figure: head (sometimes a hat), torso, two arms and two legs.

    Limbs are split into sub-parts (upper arm / forearm, thigh / shin / foot).

    Arguments:
      rng: source of randomness.

    Returns:
      Sketch: the object, spanning roughly [-1, 1]^2 in object coordinates.
    """
    sk = Sketch()
    lt = rng.uniform(0.08, 0.12)
    sw, hw = rng.uniform(0.16, 0.26), rng.uniform(0.12, 0.2)
    head_r = rng.uniform(0.15, 0.2)
    skirt = rng.random() < 0.3
    # Legs first: the torso covers the hip joints.
    for side, name in ((-1.0, "left leg"), (1.0, "right leg")):
        part = sk.part(name)
        hip = np.array([side * hw * 0.55, 0.08])
        a1 = side * rng.uniform(0.0, 0.5)
        knee = _limb(hip, a1, 0.42)
        a2 = a1 + side * rng.uniform(-0.7, 0.15)
        ankle = _limb(knee, a2, 0.38)
        sk.line([hip, knee], lt * 1.25, sk.region(part, "trousers", subpart=True))
        sk.line([knee, ankle], lt * 1.1, sk.region(part, "trousers", subpart=True))
        foot = ankle + np.array([side * 0.06, 0.0])
        sk.ellipse(foot, (0.09, 0.045), 0.0, sk.region(part, "shoe", subpart=True))
    torso = sk.part("torso")
    if skirt:
        pts = [(-sw, -0.52), (sw, -0.52), (hw * 1.9, 0.35), (-hw * 1.9, 0.35)]
    else:
        pts = [(-sw, -0.52), (sw, -0.52), (hw, 0.12), (-hw, 0.12)]
    sk.poly(pts, sk.region(torso, "shirt"))
    for side, name in ((-1.0, "left arm"), (1.0, "right arm")):
        part = sk.part(name)
        shoulder = np.array([side * sw * 0.85, -0.46])
        a1 = side * rng.uniform(0.15, 2.7)
        elbow = _limb(shoulder, a1, 0.32)
        hand = _limb(elbow, a1 + side * rng.uniform(-0.3, 1.3), 0.3)
        sk.line([shoulder, elbow], lt, sk.region(part, "shirt", subpart=True))
        sk.line([elbow, hand], lt * 0.9, sk.region(part, "skin", subpart=True))
    head = sk.part("head")
    hc = (rng.uniform(-0.03, 0.03), -0.55 - head_r * 0.9)
    sk.circle(hc, head_r, sk.region(head, "skin"))
    if rng.random() < 0.3:
        hat = sk.part("hat")
        top = hc[1] - head_r * rng.uniform(1.2, 1.8)
        brim = hc[1] - head_r * 0.45
        pts = [
            (hc[0] - head_r * 1.4, brim),
            (hc[0] + head_r * 1.4, brim),
            (hc[0] + head_r * 0.8, brim - 0.04),
            (hc[0] + head_r * 0.7, top),
            (hc[0] - head_r * 0.7, top),
            (hc[0] - head_r * 0.8, brim - 0.04),
        ]
        sk.poly(pts, sk.region(hat, "hat"))
    return sk


def build_vehicle(rng: np.random.Generator) -> Sketch:
    """A vehicle: a car (body, cabin with windows, 2 wheels with hubs) or a truck (cargo, cab,
    chassis, 3 wheels).

    Arguments:
      rng: source of randomness.

    Returns:
      Sketch: the object, spanning roughly [-1, 1]^2 in object coordinates.
    """
    sk = Sketch()

    def j() -> float:
        # small vertex jitter so no two vehicles share an outline
        return float(rng.uniform(-0.04, 0.04))

    wheel_r = rng.uniform(0.18, 0.25)
    if rng.random() < 0.6:
        body = sk.part("body")
        cabin = sk.part("cabin")
        bt = rng.uniform(-0.2, -0.05)
        pts = [
            (-1, 0.3),
            (-1, bt + 0.1 + j()),
            (-0.8 + j(), bt),
            (0.5 + j(), bt + j()),
            (1.0, bt + 0.15 + j()),
            (1.0, 0.3),
        ]
        sk.poly(pts, sk.region(body, "paint"))
        sk.ellipse((0.95, bt + 0.22), (0.05, 0.035), 0, sk.region(body, "light", subpart=True))
        top = bt - rng.uniform(0.3, 0.45)
        x0, x1 = rng.uniform(-0.7, -0.5), rng.uniform(0.2, 0.45)
        slope = rng.uniform(0.1, 0.25)
        sk.poly(
            [(x0, bt + 0.02), (x0 + slope, top), (x1 - slope, top), (x1, bt + 0.02)],
            sk.region(cabin, "paint"),
        )
        inset = 0.05
        mid = (x0 + x1) / 2 + j()
        wy0, wy1 = top + inset, bt - 0.02
        win = [
            [
                (x0 + inset + slope * 0.8, wy1),
                (x0 + slope + inset, wy0),
                (mid - 0.03, wy0),
                (mid - 0.03, wy1),
            ],
            [
                (mid + 0.03, wy1),
                (mid + 0.03, wy0),
                (x1 - slope - inset, wy0),
                (x1 - inset - slope * 0.8, wy1),
            ],
        ]
        for w in win:
            sk.poly(w, sk.region(cabin, "glass", subpart=True))
        wheel_x = [-0.6 + j(), 0.6 + j()]
    else:
        cargo, cab, chassis = sk.part("cargo"), sk.part("cab"), sk.part("chassis")
        front = rng.uniform(0.25, 0.4)
        ct = rng.uniform(-0.75, -0.5)
        sk.poly([(-1, 0.22), (1, 0.22), (1, 0.34), (-1, 0.34)], sk.region(chassis, "tyre"))
        sk.poly(
            [(-1, ct), (front - 0.04, ct), (front - 0.04, 0.22), (-1, 0.22)],
            sk.region(cargo, "cargo"),
        )
        cab_top = ct * rng.uniform(0.55, 0.8)
        sk.poly(
            [(front, cab_top), (0.85, cab_top), (1.0, -0.05), (1.0, 0.22), (front, 0.22)],
            sk.region(cab, "paint"),
        )
        sk.poly(
            [
                (front + 0.08, cab_top + 0.06),
                (0.8, cab_top + 0.06),
                (0.9, -0.08),
                (front + 0.08, -0.08),
            ],
            sk.region(cab, "glass", subpart=True),
        )
        sk.ellipse((0.96, 0.12), (0.04, 0.04), 0, sk.region(cab, "light", subpart=True))
        wheel_x = [-0.72, -0.72 + 2.2 * wheel_r, 0.65]
    for k, x in enumerate(wheel_x):
        part = sk.part(f"wheel {k + 1}")
        sk.circle((x, 0.32), wheel_r, sk.region(part, "tyre"))
        sk.circle((x, 0.32), wheel_r * rng.uniform(0.4, 0.55), sk.region(part, "hub", True))
    return sk


def build_building(rng: np.random.Generator) -> Sketch:
    """A building: walls, a roof (gable, flat or dome), a door and a grid of windows
    (each window a sub-part of the windows part).

    Arguments:
      rng: source of randomness.

    Returns:
      Sketch: the object, spanning roughly [-1, 1]^2 in object coordinates.
    """
    sk = Sketch()
    walls, roof, windows, door = (sk.part(n) for n in ("walls", "roof", "windows", "door"))
    w = rng.uniform(0.45, 1.0)
    top = rng.uniform(-0.75, -0.2)
    sk.poly([(-w, top), (w, top), (w, 1.0), (-w, 1.0)], sk.region(walls, "wall"))
    kind = rng.choice(3, p=[0.5, 0.3, 0.2])
    if kind == 0:
        peak = top - rng.uniform(0.25, 0.45)
        sk.poly(
            [(-w - 0.08, top + 0.02), (w + 0.08, top + 0.02), (0.0, peak)], sk.region(roof, "roof")
        )
    elif kind == 1:
        sk.poly(
            [
                (-w - 0.06, top - 0.1),
                (w + 0.06, top - 0.1),
                (w + 0.06, top + 0.05),
                (-w - 0.06, top + 0.05),
            ],
            sk.region(roof, "roof"),
        )
    else:
        t = np.linspace(0, np.pi, 20)
        r = w * rng.uniform(0.5, 0.9)
        pts = np.stack([r * np.cos(t), top + 0.02 - r * 0.8 * np.sin(t)], 1)
        sk.poly(pts, sk.region(roof, "roof"))
    door_h = rng.uniform(0.25, 0.35)
    door_w = min(0.3, w * 0.4)
    cols = int(rng.integers(2, 5))
    rows = max(1, min(int(rng.integers(2, 6)), int((1.0 - door_h - top) / 0.22)))
    cw, ch = 2 * w / cols, (1.0 - door_h - 0.05 - top) / rows
    fill = rng.uniform(0.45, 0.65)
    lit_prob = rng.uniform(0.0, 0.5)
    for r in range(rows):
        for c in range(cols):
            cx, cy = -w + (c + 0.5) * cw, top + (r + 0.5) * ch
            hx, hy = cw * fill / 2, ch * fill / 2
            role = "window_lit" if rng.random() < lit_prob else "window"
            sk.poly(
                [(cx - hx, cy - hy), (cx + hx, cy - hy), (cx + hx, cy + hy), (cx - hx, cy + hy)],
                sk.region(windows, role, subpart=True),
            )
    dx = rng.uniform(-w + door_w, w - door_w) if rng.random() < 0.5 else 0.0
    sk.poly(
        [
            (dx - door_w / 2, 1.0 - door_h),
            (dx + door_w / 2, 1.0 - door_h),
            (dx + door_w / 2, 1.0),
            (dx - door_w / 2, 1.0),
        ],
        sk.region(door, "door"),
    )
    return sk


Builder = Callable[[np.random.Generator], Sketch]
