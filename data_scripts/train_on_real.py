"""Train a SAM on real photographs (the shared pairs and BSDS500), on a CPU, resumably.

Two starting points (``--start``):

* ``litemedsam``: LiteMedSAM's pretrained TinyViT encoder, frozen; the prompt encoder and mask
  decoder are re-trained. Encoder outputs are computed once and kept in the persistent
  embedding cache (``samrefiner_lib.embedding_cache``), so a step costs only the decoder.
* ``sam_tiny_synth``: the embedded synthetic-scene model, fine-tuned end to end.

Examples:
  # 1. encode the train and validation images once (about 2 s per image on 2 cores)
  python data_scripts/train_on_real.py --start litemedsam --out runs/lite --encode-only
  # 2. train for 40 minutes of training time, validating every 50 steps; rerun to resume
  python data_scripts/train_on_real.py --start litemedsam --out runs/lite --minutes 40 \\
      --export samrefiner_lib/weights/sam_lite_real.pt
  python data_scripts/train_on_real.py --start sam_tiny_synth --out runs/tiny --minutes 30

Only the ``train`` side of the fixed split by image (``samrefiner_lib.datasets.real_split``)
is trained on; the validation curve in OUT/log.jsonl and the final figures use the ``val``
side's pairs with DAVIS-585-protocol coarse masks.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samrefiner_lib.datasets.real import default_real_root  # noqa: E402
from samrefiner_lib.embedding_cache import EmbeddingCache  # noqa: E402
from samrefiner_lib.models import load_sam  # noqa: E402
from samrefiner_lib.models.embedded import EMBEDDED_SPEC, EMBEDDED_WEIGHTS  # noqa: E402
from samrefiner_lib.models.litemedsam import build_litemedsam, save_heads  # noqa: E402
from samrefiner_lib.training.real_data import (  # noqa: E402
    RealImages,
    RealSampleSettings,
    RealStream,
)
from samrefiner_lib.training.real_validation import RealValidation  # noqa: E402
from samrefiner_lib.training.trainer import (  # noqa: E402
    REAL_GROUPS,
    TrainSettings,
    export_weights,
    train,
)


def encode_all(sam: torch.nn.Module, cache: EmbeddingCache, images: list[RealImages],
               shard: tuple[int, int] = (0, 1)) -> None:
    names = [(imgs, n) for imgs in images for n in imgs.names()][shard[0]::shard[1]]
    for imgs, name in tqdm(names, desc="encoding real images", unit="image"):
        image = imgs.image(name)
        if cache.path(image).is_file():
            cache.hits += 1
        else:
            cache.features(image)
    print(f"embedding cache {cache.folder}: {cache.misses} encoded, {cache.hits} already there")


def parse_groups(text: str) -> dict[str, float]:
    """``'name=share,...'`` -> {name: share}, checked against the trainer's prompt groups."""
    known = set(REAL_GROUPS)
    groups: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name not in known:
            raise ValueError(f"expected name=share with a name from {sorted(known)}, got {part!r}")
        try:
            share = float(value)
        except ValueError:
            raise ValueError(f"share of {name!r} is not a number: {value!r}") from None
        if share <= 0:
            raise ValueError(f"share of {name!r} must be positive, got {share}")
        groups[name] = share
    return groups


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--start", choices=("litemedsam", "sam_tiny_synth"), required=True)
    ap.add_argument("--out", required=True, help="run folder (last.pt, log.jsonl)")
    ap.add_argument("--real-root", default=None, help="the shared real folder")
    ap.add_argument("--cache", default=None, help="embedding cache folder (default: user cache)")
    ap.add_argument("--encode-only", action="store_true", help="fill the embedding cache, exit")
    ap.add_argument("--shard", default="0/1",
                    help="K/N: encode every N-th image from the K-th (run N processes with one "
                         "thread each: the encoder scales poorly across threads)")
    ap.add_argument("--per-subset", type=int, default=120,
                    help="at most this many training images per pair subset (0: all)")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=None,
                    help="train for this much training time instead of --steps")
    ap.add_argument("--batch", type=int, default=4, help="images per step")
    ap.add_argument("--targets", type=int, default=4, help="targets per image")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    # Data loading is ~30 ms of a multi-second step; forked loader processes stalled here after
    # the parent had used OpenCV and torch, so the default loads in the training process.
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cpu-bf16", action="store_true",
                    help="bfloat16 autocast on the CPU (faster where the CPU supports it)")
    ap.add_argument("--validate-every", type=int, default=50)
    ap.add_argument("--val-images", type=int, default=60, help="validation pairs per check")
    ap.add_argument("--checkpoint-every", type=int, default=25)
    ap.add_argument("--log-every", type=int, default=5)
    ap.add_argument("--export", default=None, help="write the shippable float16 weights here")
    ap.add_argument("--groups", default=None,
                    help="first-round prompt groups and their shares, e.g. "
                         "'excavated=0.7,coarse_box=0.15,box_single=0.15' (default: "
                         "REAL_GROUPS of samrefiner_lib.training.trainer)")
    ap.add_argument("--cebox", action="store_true",
                    help="excavated prompts use CEBox, as the paper preset does (default: the "
                         "tight box)")
    ap.add_argument("--bsds-share", type=float, default=RealSampleSettings.bsds_share,
                    help="probability that a training sample is a BSDS500 image")
    ap.add_argument("--init", default=None,
                    help="start a new run from this training checkpoint's weights (a later "
                         "sitting with its own schedule), e.g. runs/lite/last.pt")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    root = Path(args.real_root) if args.real_root else default_real_root()
    if root is None or not root.is_dir():
        print("real data folder not found: pass --real-root", file=sys.stderr)
        return 1
    train_images = RealImages(root, "train", per_subset=args.per_subset or None)
    val_images = RealImages(root, "val", sources=("pairs",))
    heads = args.start == "litemedsam"
    if heads:
        def build() -> torch.nn.Module:
            return build_litemedsam()
    else:
        def build() -> torch.nn.Module:
            return load_sam("sam_tiny_synth")
    probe = build()
    cache = EmbeddingCache(probe, args.cache) if heads else None
    if heads:
        k, _, n = args.shard.partition("/")
        encode_all(probe, cache, [train_images, val_images], (int(k), int(n or 1)))
        if args.encode_only:
            return 0
    elif args.encode_only:
        print("--encode-only applies to --start litemedsam (a frozen encoder)", file=sys.stderr)
        return 2

    try:
        groups = parse_groups(args.groups) if args.groups else dict(REAL_GROUPS)
    except ValueError as exc:
        print(f"--groups: {exc}", file=sys.stderr)
        return 2
    if args.cebox and not heads:
        print("--cebox needs cached embeddings (--start litemedsam)", file=sys.stderr)
        return 2
    if not 0.0 <= args.bsds_share <= 1.0:
        print(f"--bsds-share: expected a probability in [0, 1], got {args.bsds_share}",
              file=sys.stderr)
        return 2
    samples = RealSampleSettings(
        img_size=int(probe.image_encoder.img_size), targets_per_image=args.targets,
        seed=args.seed, embedding_size=int(probe.prompt_encoder.image_embedding_size[0]),
        mask_input_size=int(probe.prompt_encoder.mask_input_size[0]),
        bsds_share=args.bsds_share, cebox=args.cebox)
    settings = TrainSettings(
        steps=args.steps, minutes=args.minutes, batch_images=args.batch, rounds=args.rounds,
        lr=args.lr, warmup_steps=args.warmup, workers=args.workers, seed=args.seed,
        checkpoint_every=args.checkpoint_every, log_every=args.log_every, bf16=False,
        cpu_bf16=args.cpu_bf16,
        groups=groups,
    )
    folder = cache.folder if heads else None

    def data(start: int) -> RealStream:
        return RealStream(train_images, samples, start=start, embeddings=folder)

    validation = RealValidation(val_images.pairs, limit=args.val_images, cache_root=args.cache,
                                cache=heads)
    t0 = time.perf_counter()

    def show(rec: dict) -> None:
        if "validation" in rec:
            v = rec["validation"]
            print(f"step {rec['step']:5d} validation: " + ", ".join(
                f"{k} {val:.2f}" for k, val in v.items() if isinstance(val, float)), flush=True)
        else:
            print(f"step {rec['step']:5d} loss {rec['loss']:.4f} lr {rec['lr']:.2e} "
                  f"train {rec['elapsed_s'] / 60:.1f} min, wall "
                  f"{(time.perf_counter() - t0) / 60:.1f} min", flush=True)

    ckpt = train(None if heads else EMBEDDED_SPEC, samples, settings, args.out,
                 init=args.init or (None if heads else EMBEDDED_WEIGHTS), build=build, data=data,
                 trainable="heads" if heads else "all", validate=validation,
                 validate_every=args.validate_every, progress=show)
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    facts = {"hardware": f"{platform.machine()} CPU, {args.threads} threads (torch "
                         f"{torch.__version__})",
             "train_settings": asdict(settings), "sample_settings": asdict(samples),
             "start": args.start, "init": args.init, "steps": int(state["step"]),
             "train_minutes": round(float(state["elapsed"]) / 60, 2)}
    print(json.dumps(facts, indent=1))
    if args.export:
        if heads:
            model = build()
            model.load_state_dict(state["state_dict"])
            out = save_heads(model, args.export, extra={"training": facts})
        else:
            out = export_weights(ckpt, args.export, extra={"training": facts})
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
