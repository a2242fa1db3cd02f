"""Core benchmark: prompt excavation per mask, and batched vs one-by-one mask decoding.

Usage:
  python benchmarks/bench_core.py [--size 1024] [--masks 16] [--repeats 15] [--json out.json]
      [--device cpu|cuda] [--dtype fp32|bf16] [--encoders vit_b,vit_h]

Excavation is timed on realistic coarse masks (blobby shapes of 2-30% of a SIZE x SIZE image)
with the ``paper`` preset's excavation (points, box, Gaussian mask prompt) and, separately, with
CEBox on a random official-size embedding. Decoding uses a model with the official ViT-B/H/L
prompt encoder and mask decoder (random weights: the same compute) on a random 1x256x64x64
image embedding, so the encoder is not part of these figures; ``--encoders`` adds the image
encoder's time for the named official architectures. Excavation always runs on the CPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import cv2
import numpy as np
import torch

from samrefiner_lib import get_preset
from samrefiner_lib.decoding import decode, prompt_tensors
from samrefiner_lib.geometry import Frame, ModelGeometry
from samrefiner_lib.models import OFFICIAL_SPECS, build_sam_from_spec
from samrefiner_lib.prompts import excavate_prompts


def blob_masks(n: int, size: int, seed: int = 0) -> np.ndarray:
    """N random smooth blobs (union of ellipses, blurred and thresholded) in a size^2 image."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, size, size), bool)
    for i in range(n):
        canvas = np.zeros((size, size), np.uint8)
        cx, cy = rng.integers(size // 5, 4 * size // 5, 2)
        r = int(size * rng.uniform(0.08, 0.3))
        for _ in range(4):
            dx, dy = rng.integers(-r // 2, r // 2 + 1, 2)
            c = (int(cx + dx), int(cy + dy))
            axes = (int(r * rng.uniform(0.3, 0.8)), int(r * rng.uniform(0.3, 0.8)))
            cv2.ellipse(canvas, c, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
        canvas = cv2.GaussianBlur(canvas, (0, 0), size / 200)
        out[i] = canvas > 127
    return out


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def median_ms(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    _sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        _sync()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024, help="image side in pixels")
    ap.add_argument("--masks", type=int, default=16, help="masks per image")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"],
                    help="autocast dtype for the model calls")
    ap.add_argument("--chunks", default="2,4,8",
                    help="comma-separated decoder chunk sizes to time besides 1 call and N calls")
    ap.add_argument("--encoders", default="",
                    help="comma-separated official architectures whose encoder to time")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    amp = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.dtype == "bf16")

    sam = build_sam_from_spec(OFFICIAL_SPECS["vit_b"], seed=0).eval()
    geom = ModelGeometry.of(sam)
    frame = Frame.of(geom, (args.size, args.size))
    masks = blob_masks(args.masks, args.size)
    features = torch.randn(1, sam.prompt_encoder.embed_dim, *geom.embedding_size)
    valid = features[0]

    cfg = get_preset("paper", use_cebox=False)
    exc = median_ms(lambda: excavate_prompts(masks, cfg, frame), args.repeats)
    cfg_ce = get_preset("paper")
    exc_ce = median_ms(lambda: excavate_prompts(masks, cfg_ce, frame, valid), args.repeats)
    prompts = excavate_prompts(masks, cfg_ce, frame, valid)
    sam = sam.to(dev)
    features = features.to(dev)
    pts, boxes, mask_in = prompt_tensors(prompts, frame, dev)

    def batched():
        with torch.inference_mode(), amp:
            decode(sam, features, pts, boxes, mask_in, True)

    def one_by_one():
        with torch.inference_mode(), amp:
            for i in range(args.masks):
                decode(sam, features, (pts[0][i : i + 1], pts[1][i : i + 1]), boxes[i : i + 1],
                       mask_in[i : i + 1], True)

    def chunked(size: int):
        def run():
            with torch.inference_mode(), amp:
                for i in range(0, args.masks, size):
                    j = i + size
                    decode(sam, features, (pts[0][i:j], pts[1][i:j]), boxes[i:j], mask_in[i:j],
                           True)
        return run

    reps = max(3, args.repeats // 3)
    t_batched = median_ms(batched, reps, warmup=1)
    t_loop = median_ms(one_by_one, reps, warmup=1)
    # The refiner decodes in chunks (RefinerConfig.chunk_size); time the candidates side by side.
    t_chunks = {int(c): median_ms(chunked(int(c)), reps, warmup=1)
                for c in filter(None, args.chunks.split(","))}
    encoders = {}
    for name in filter(None, args.encoders.split(",")):
        with dev:  # initialise on the device: ViT-H has 632 M parameters
            enc = build_sam_from_spec(OFFICIAL_SPECS[name], seed=0).image_encoder.eval()
        x = torch.randn(1, 3, geom.img_size, geom.img_size, device=dev)

        def run_encoder(enc=enc, x=x):
            with torch.inference_mode(), amp:
                enc(x)

        encoders[name] = median_ms(run_encoder, max(3, args.repeats // 3), warmup=1)
        del enc
    machine = (torch.cuda.get_device_name(dev) if dev.type == "cuda"
               else f"{platform.processor() or platform.machine()}, {args.threads} threads")
    res = {
        "machine": f"{machine}, torch {torch.__version__}, {args.dtype}",
        "image_size": args.size,
        "masks": args.masks,
        "excavation_ms_per_mask": exc / args.masks,
        "excavation_with_cebox_ms_per_mask": exc_ce / args.masks,
        "decoder_batched_ms": t_batched,
        "decoder_one_by_one_ms": t_loop,
        "decoder_speedup": t_loop / t_batched,
        "decoder_chunked_ms": t_chunks,
        "encoder_ms": encoders,
    }
    print(f"machine: {res['machine']}")
    print(f"image {args.size}x{args.size}, {args.masks} masks, medians of {args.repeats} runs")
    print(f"  excavation (points, box, Gaussian mask): {res['excavation_ms_per_mask']:.2f} ms/mask")
    print(f"  excavation with CEBox (3 rounds):        "
          f"{res['excavation_with_cebox_ms_per_mask']:.2f} ms/mask")
    print(f"  decoder, {args.masks} masks batched:  {t_batched:.0f} ms")
    print(f"  decoder, {args.masks} masks one by one: {t_loop:.0f} ms  "
          f"(batched takes {1 / res['decoder_speedup']:.2f}x the time of the loop)")
    for size, ms in t_chunks.items():
        print(f"  decoder, {args.masks} masks in chunks of {size}: {ms:.0f} ms  "
              f"({t_loop / ms:.1f}x the one-by-one loop)")
    for name, ms in encoders.items():
        print(f"  image encoder {name}: {ms:.0f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
