"""Plot examples of the coarse-mask defect simulators on a few ground-truth masks.

Usage:
    python benchmarks/plot_defect_examples.py OUTPUT.png [--seed N] [--data DIR]

Ground truth comes from the real datasets under ``--data`` (default ``/work/shared/data/real``:
COCO-MVal ``gt/*.png`` > 128, Weizmann horses ``figure_ground/*.jpg`` > 127), read in place; when
that folder is missing, simple drawn shapes are used instead. Instance rows show the ground truth,
three DAVIS-585 coarse masks and one Mask R-CNN-style low-resolution mask, coloured as
true positive (grey), false positive (red) and false negative (blue). The semantic rows show a
scene composed from the same masks (VOC-style classes with a 255 ignore band), its simulated CAM
(maximum class score), and two decoded CAM-like coarse label maps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from samrefiner_lib.defects import (  # noqa: E402
    cam_coarse_semantic,
    cam_scores,
    davis585_coarse_mask,
    lowres_coarse_mask,
)

DEFAULT_DATA = Path("/work/shared/data/real")
COCO_NAMES = ("horse00", "giraffe00", "elephant00", "cat00")
HORSE_NAMES = ("horse004", "horse021")
# VOC class ids used for the composed semantic scene.
VOC_HORSE, VOC_PERSON, VOC_DOG = 13, 15, 12
VOC_CLASSES = 20


def voc_palette(count: int = 256) -> np.ndarray:
    """The usual VOC colour map: bits of the label spread over the RGB channels."""
    palette = np.zeros((count, 3), dtype=np.uint8)
    for label in range(count):
        value, red, green, blue = label, 0, 0, 0
        for shift in range(7, -1, -1):
            red |= (value & 1) << shift
            green |= ((value >> 1) & 1) << shift
            blue |= ((value >> 2) & 1) << shift
            value >>= 3
        palette[label] = (red, green, blue)
    palette[255] = (224, 224, 192)
    return palette


def load_instances(data: Path) -> list[tuple[str, np.ndarray]]:
    """(name, HxW bool mask) pairs: real masks when available, drawn shapes otherwise."""
    masks: list[tuple[str, np.ndarray]] = []
    coco = data / "COCO_MVal_subset80" / "gt"
    horses = data / "WeizmannHorses" / "figure_ground"
    if coco.is_dir():
        for name in COCO_NAMES:
            for path in sorted(coco.glob(f"{name}_*.png")):
                masks.append((f"COCO-MVal {name[:-2]}", cv2.imread(str(path), 0) > 128))
    if horses.is_dir():
        for name in HORSE_NAMES:
            path = horses / f"{name}.jpg"
            if path.exists():
                masks.append((f"Weizmann {name}", cv2.imread(str(path), 0) > 127))
    if masks:
        return masks
    return drawn_shapes()


def drawn_shapes() -> list[tuple[str, np.ndarray]]:
    """Fallback ground truth: an ellipse with a thin stick, a star polygon and a ring."""
    canvas = np.zeros((240, 320), dtype=np.uint8)
    cv2.ellipse(canvas, (150, 120), (90, 55), 20, 0, 360, 1, -1)
    cv2.line(canvas, (230, 60), (300, 20), 1, 2)
    angles = np.linspace(0, 2 * np.pi, 11)[:-1]
    radii = np.where(np.arange(10) % 2 == 0, 100, 45)
    star = np.stack([160 + radii * np.cos(angles), 120 + radii * np.sin(angles)], 1)
    star_mask = np.zeros((240, 320), dtype=np.uint8)
    cv2.fillPoly(star_mask, [star.astype(np.int32)], 1)
    ring = np.zeros((240, 320), dtype=np.uint8)
    cv2.circle(ring, (160, 120), 90, 1, -1)
    cv2.circle(ring, (160, 120), 50, 0, -1)
    return [
        ("drawn ellipse + stick", canvas > 0),
        ("drawn star", star_mask > 0),
        ("drawn ring", ring > 0),
    ]


def compose_scene(instances: list[tuple[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, list]:
    """A VOC-like scene: two close objects of one class and one of another, with ignore bands."""
    height, width = 260, 420
    shapes = [mask for _, mask in instances]
    horse_like = [mask for name, mask in instances if "horse" in name] or shapes[:1]
    other = [mask for name, mask in instances if "cat" in name] or shapes[-1:]

    def fit(mask: np.ndarray, box_h: int, box_w: int) -> np.ndarray:
        ys, xs = np.nonzero(mask)
        crop = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.uint8)
        scale = min(box_h / crop.shape[0], box_w / crop.shape[1])
        size = (max(int(crop.shape[1] * scale), 1), max(int(crop.shape[0] * scale), 1))
        return cv2.resize(crop, size, interpolation=cv2.INTER_NEAREST) > 0

    placed = []
    for mask, (top, left, box_h, box_w), cls in (
        (horse_like[0], (40, 10, 170, 170), VOC_HORSE),
        (horse_like[-1], (70, 192, 150, 120), VOC_HORSE),
        (other[0], (120, 310, 120, 105), VOC_DOG),
    ):
        small = fit(mask, box_h, box_w)
        full = np.zeros((height, width), dtype=bool)
        h, w = small.shape
        full[top : top + h, left : left + w] = small
        placed.append((full, cls))
    semantic = np.zeros((height, width), dtype=np.uint8)
    for full, cls in placed:
        semantic[full] = cls
    band = np.zeros((height, width), dtype=bool)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    for full, _ in placed:
        grown = cv2.dilate(full.astype(np.uint8), kernel).astype(bool)
        shrunk = cv2.erode(full.astype(np.uint8), kernel).astype(bool)
        band |= grown & ~shrunk
    semantic[band] = 255
    instance_stack = np.stack([full for full, _ in placed])
    labels = np.array([cls for _, cls in placed])
    return semantic, instance_stack, labels


def error_image(coarse: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """RGB: white background, grey true positive, red false positive, blue false negative."""
    image = np.full((*gt.shape, 3), 255, dtype=np.uint8)
    image[coarse & gt] = (150, 150, 150)
    image[coarse & ~gt] = (220, 40, 40)
    image[~coarse & gt] = (40, 90, 220)
    return image


def view_box(gt: np.ndarray, margin: float = 0.25) -> tuple[slice, slice]:
    ys, xs = np.nonzero(gt)
    pad = int(margin * max(ys.max() - ys.min(), xs.max() - xs.min())) + 4
    return (
        slice(max(ys.min() - pad, 0), ys.max() + pad + 1),
        slice(max(xs.min() - pad, 0), xs.max() + pad + 1),
    )


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.count_nonzero(a & b) / max(np.count_nonzero(a | b), 1)


def short(kinds: tuple[str, ...]) -> str:
    letters = {"boundary": "B", "false_positive": "FP", "false_negative": "FN"}
    return "+".join(letters[k] for k in kinds) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="PNG file to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()

    instances = load_instances(args.data)
    semantic, instance_stack, labels = compose_scene(instances)
    columns = 5
    rows = len(instances) + 2
    fig, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 2.7 * rows))
    rng = np.random.default_rng(args.seed)

    for row, (name, gt) in enumerate(instances):
        view = view_box(gt)
        axes[row, 0].imshow(error_image(gt, gt)[view])
        axes[row, 0].set_title(f"GT: {name}", fontsize=9)
        for col in range(1, 4):
            coarse, info = davis585_coarse_mask(gt, rng)
            axes[row, col].imshow(error_image(coarse, gt)[view])
            flag = "" if info.in_range else " (out of range)"
            axes[row, col].set_title(
                f"DAVIS-585 IoU {info.iou:.3f}{flag}\n{short(info.defect_types)}", fontsize=8
            )
        coarse = lowres_coarse_mask(gt, rng)
        axes[row, 4].imshow(error_image(coarse, gt)[view])
        axes[row, 4].set_title(f"Mask R-CNN 28x28, IoU {iou(coarse, gt):.3f}", fontsize=8)

    palette = voc_palette()
    for offset in range(2):
        row = len(instances) + offset
        seed = int(rng.integers(1 << 30))
        scores = cam_scores(semantic, seed, VOC_CLASSES, instance_stack, labels)
        coarse = cam_coarse_semantic(
            semantic, seed, instance_stack, labels, num_classes=VOC_CLASSES
        )
        other_seed = int(rng.integers(1 << 30))
        fragmenting = cam_coarse_semantic(
            semantic,
            other_seed,
            instance_stack,
            labels,
            num_classes=VOC_CLASSES,
            p_fragment=0.7,
            p_wrong_class=0.6,
        )
        axes[row, 0].imshow(palette[semantic])
        axes[row, 0].set_title("semantic GT (255 = ignore band)", fontsize=8)
        axes[row, 1].imshow(scores.max(axis=0), cmap="jet", vmin=0, vmax=1)
        axes[row, 1].set_title("CAM: max class score", fontsize=8)
        axes[row, 2].imshow(palette[coarse])
        axes[row, 2].set_title("CAM-like coarse labels (defaults)", fontsize=8)
        axes[row, 3].imshow(palette[fragmenting])
        axes[row, 3].set_title("p_fragment 0.7, p_wrong_class 0.6", fontsize=8)
        horse = semantic == VOC_HORSE
        axes[row, 4].imshow(error_image(coarse == VOC_HORSE, horse))
        axes[row, 4].set_title(
            f"horse class vs GT, IoU {iou(coarse == VOC_HORSE, horse):.3f}", fontsize=8
        )

    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    fig.suptitle(
        "Coarse-mask simulators (grey TP, red FP, blue FN; B boundary error, FP external false "
        "positive, FN internal false negative)",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=90)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
