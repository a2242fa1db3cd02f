"""SAMRefiner: refine the coarse masks of an image with a stock SAM.

One image-encoder pass per image; the prompts of all N masks are decoded together (in chunks of
``config.chunk_size``, by default chosen per device); SAM returns 3 candidates per mask and a
selector keeps one; optionally the result is fed back as the new coarse mask for further
iterations. With an acceptance rule on (``config.accept_min_coarse_iou``,
``config.accept_min_score``; the ``safe`` preset), a refined mask that fails it is replaced by the
mask it came from, and ``RefinementResult.accepted`` records which masks were kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from segment_anything.modeling import Sam

from .config import RefinerConfig, get_preset
from .decoding import (
    ImageEmbedding,
    decode,
    encode_image,
    model_device,
    prompt_tensors,
    upsample_logits,
)
from .embedding_cache import EmbeddingCache
from .geometry import Frame
from .io import ImageInput, InputError, MaskInput, load_image, load_masks
from .prompts.excavate import PromptSet, excavate_prompts
from .selectors import PredictedIoUSelector, Selector

#: Masks upscaled to full resolution at once (selected masks, or candidates for a selector).
_CANDIDATE_BATCH = 8


@dataclass
class RefinementResult:
    """Refined masks of one image and everything needed to explain them.

    Attributes:
      masks: NxHxW bool refined masks (empty where the coarse mask was empty; where the last
        iteration's refinement was rejected, the mask that iteration started from).
      scores: (N,) predicted IoU of the selected candidate (NaN for skipped masks).
      selected: (N,) index of the selected candidate (-1 for skipped masks).
      iou_predictions: NxK predicted IoUs of the candidates (last iteration).
      low_res_logits: NxKxGhxGw candidate logits on the model's low-resolution grid.
      prompts: the prompts of the last iteration, original-image coordinates.
      coarse: NxHxW bool input masks.
      frame: the image's geometry in the model.
      config: the configuration used (``config.describe()`` names the preset).
      selector: name of the selector used.
      history: masks after each iteration (only with ``return_history=True``), after the
        acceptance rule.
      accepted: (N,) bool, the acceptance rule's decision in the last iteration: True where the
        refined mask was kept, False where the mask the iteration started from was kept instead
        (the coarse mask with one iteration). Skipped masks (empty coarse masks, which get no
        prompts) are False: nothing refined was kept and the output is the input. With no rule
        on, it is True for every mask that was refined. ``scores``, ``selected``,
        ``iou_predictions`` and ``low_res_logits`` still describe SAM's candidates for rejected
        masks, to show why they were rejected; :meth:`candidate_masks` then differs from
        ``masks``. When not given, it is filled in as "every refined mask was kept".
    """

    masks: np.ndarray
    scores: np.ndarray
    selected: np.ndarray
    iou_predictions: np.ndarray
    low_res_logits: torch.Tensor
    prompts: PromptSet
    coarse: np.ndarray
    frame: Frame
    config: RefinerConfig
    selector: str
    history: list[np.ndarray] = field(default_factory=list)
    accepted: np.ndarray | None = None

    def __post_init__(self) -> None:
        # Results built without the rule (older callers) keep every mask SAM refined.
        if self.accepted is None:
            self.accepted = np.asarray(self.prompts.valid, dtype=bool).copy()

    def __len__(self) -> int:
        return int(self.masks.shape[0])

    @property
    def preset(self) -> str:
        return self.config.describe()

    def candidate_masks(self, i: int) -> np.ndarray:
        """KxHxW bool candidate masks of mask ``i`` at the original resolution."""
        logits = upsample_logits(self.low_res_logits[i].float(), self.frame)
        return (logits > 0).numpy()


class SAMRefiner:
    """Refines coarse masks with prompts excavated from them.

    Arguments:
      sam: any stock ``segment_anything`` ``Sam`` (official ViT-H/L/B or a small model).
      config: a :class:`RefinerConfig` or a preset name (``"paper"``, ``"reference"``,
        ``"safe"``).
      selector: how to pick among SAM's candidates; defaults to the highest predicted IoU.
      cache: an :class:`~samrefiner_lib.embedding_cache.EmbeddingCache` (or True for one in the
        default folder) through which images are encoded; results are identical with and
        without it. Use it only with a frozen encoder: its key is the encoder's weights at
        creation.
    """

    def __init__(
        self,
        sam: Sam,
        config: RefinerConfig | str = "paper",
        selector: Selector | None = None,
        cache: EmbeddingCache | bool | None = None,
    ) -> None:
        self.sam = sam.eval()
        self.config = get_preset(config) if isinstance(config, str) else config
        self.selector = selector if selector is not None else PredictedIoUSelector()
        if cache is True:
            cache = EmbeddingCache(self.sam)
        self.cache: EmbeddingCache | None = cache or None

    @property
    def device(self) -> torch.device:
        return model_device(self.sam)

    def encode(self, image: ImageInput) -> ImageEmbedding:
        """Run the image encoder once; reuse the result for several :meth:`refine` calls."""
        return self._encode(load_image(image))

    def _encode(self, img: np.ndarray) -> ImageEmbedding:
        return self.cache.encode(img) if self.cache is not None else encode_image(self.sam, img)

    def refine(
        self,
        image: ImageInput,
        masks: MaskInput | Sequence[MaskInput],
        *,
        embedding: ImageEmbedding | None = None,
        config: RefinerConfig | None = None,
        selector: Selector | None = None,
        return_history: bool = False,
    ) -> RefinementResult:
        """Refine the coarse masks of one image.

        Arguments:
          image: path, PIL image or array (see :func:`samrefiner_lib.io.load_image`).
          masks: one mask or several: paths to 0/255 PNGs, arrays, or an NxHxW array.
          embedding: a precomputed :meth:`encode` result for this image (skips the encoder).
          config: overrides the refiner's configuration for this call.
          selector: overrides the refiner's selector for this call.
          return_history: keep the masks after each iteration in ``result.history``.

        Returns:
          RefinementResult
        """
        cfg = config if config is not None else self.config
        sel = selector if selector is not None else self.selector
        img = load_image(image)
        coarse = load_masks(masks, image_shape=img.shape[:2])
        if embedding is None:
            embedding = self._encode(img)
        elif embedding.frame.original_size != img.shape[:2]:
            raise InputError(
                f"embedding: computed for an image of size {embedding.frame.original_size}, "
                f"but the image is {img.shape[:2]}"
            )
        return self.refine_masks(embedding, coarse, cfg, sel, return_history)

    @torch.inference_mode()
    def refine_masks(
        self,
        embedding: ImageEmbedding,
        coarse: np.ndarray,
        config: RefinerConfig | None = None,
        selector: Selector | None = None,
        return_history: bool = False,
    ) -> RefinementResult:
        """Refine validated NxHxW bool masks given the image's embedding (no input checks).

        Arguments:
          embedding: the image's :meth:`encode` result.
          coarse: NxHxW bool coarse masks at the image's resolution.
          config: overrides the refiner's configuration for this call.
          selector: overrides the refiner's selector for this call.
          return_history: keep the masks after each iteration in ``result.history``.

        Returns:
          RefinementResult
        """
        cfg = config if config is not None else self.config
        sel = selector if selector is not None else self.selector
        frame = embedding.frame
        features = embedding.valid_features if (cfg.use_box and cfg.use_cebox) else None
        n = coarse.shape[0]
        k = 3 if cfg.multimask_output else 1
        grid = frame.model.mask_input_size
        current = coarse
        history: list[np.ndarray] = []
        for _ in range(cfg.iterations):
            prompts = excavate_prompts(current, cfg, frame, features)
            out_masks = np.zeros_like(coarse)
            scores = np.full(n, np.nan, np.float32)
            selected = np.full(n, -1, np.int64)
            ious = np.full((n, k), np.nan, np.float32)
            low_res = torch.zeros((n, k, *grid), dtype=torch.float32)
            valid_idx = np.flatnonzero(prompts.valid)
            chunk = cfg.resolved_chunk_size(self.device)
            for start in range(0, valid_idx.size, chunk):
                idx = valid_idx[start : start + chunk]
                pts, boxes, mask_in = prompt_tensors(prompts.select(idx), frame, self.device)
                logits, iou = decode(self.sam, embedding.features, pts, boxes, mask_in,
                                     cfg.multimask_output)
                choice = self._select(sel, logits, iou, current[idx], idx, frame)
                best = logits[torch.arange(idx.size), choice]
                # Upsample a few masks at a time: a float map per mask at full resolution
                # (16 MB at 2048 px) would otherwise multiply by the decoder's chunk size.
                for s in range(0, idx.size, _CANDIDATE_BATCH):
                    up = upsample_logits(best[s : s + _CANDIDATE_BATCH], frame)
                    out_masks[idx[s : s + _CANDIDATE_BATCH]] = (
                        up > self.sam.mask_threshold).cpu().numpy()
                ar = torch.arange(idx.size)
                scores[idx] = iou[ar, choice].float().cpu().numpy()
                selected[idx] = choice.cpu().numpy()
                ious[idx] = iou.float().cpu().numpy()
                low_res[idx] = logits.float().cpu()
            accepted = acceptance(cfg, out_masks, coarse, scores, prompts.valid)
            # A rejected mask keeps this iteration's input, so with several iterations it stays
            # at the last mask that passed (or the coarse mask) rather than falling back further.
            rejected = ~accepted
            out_masks[rejected] = current[rejected]
            current = out_masks
            if return_history:
                history.append(out_masks)
        return RefinementResult(
            masks=current, scores=scores, selected=selected, iou_predictions=ious,
            low_res_logits=low_res, prompts=prompts, coarse=coarse, frame=frame, config=cfg,
            selector=sel.name, history=history, accepted=accepted,
        )

    def _select(
        self,
        sel: Selector,
        logits: torch.Tensor,
        iou: torch.Tensor,
        coarse: np.ndarray,
        idx: np.ndarray,
        frame: Frame,
    ) -> torch.Tensor:
        if logits.shape[1] == 1:
            return torch.zeros(logits.shape[0], dtype=torch.int64, device=logits.device)
        if not sel.needs_candidates:
            return sel(iou, None, torch.from_numpy(coarse), idx).to(logits.device)
        parts = []
        for s in range(0, idx.size, _CANDIDATE_BATCH):
            part = slice(s, s + _CANDIDATE_BATCH)
            cands = upsample_logits(logits[part], frame) > self.sam.mask_threshold
            parts.append(
                sel(iou[part], cands, torch.from_numpy(coarse[part]).to(cands.device),
                    idx[part]).to(logits.device)
            )
        return torch.cat(parts)


def acceptance(
    config: RefinerConfig,
    refined: np.ndarray,
    coarse: np.ndarray,
    scores: np.ndarray,
    valid: np.ndarray,
) -> np.ndarray:
    """Which refined masks pass the configuration's acceptance rule.

    A mask passes when it was refined (``valid``) and meets every rule that is on:
    IoU with its coarse mask >= ``config.accept_min_coarse_iou`` and predicted IoU >=
    ``config.accept_min_score``. With both rules off this is ``valid``.

    Arguments:
      config: supplies the thresholds (None = rule off).
      refined: NxHxW bool masks selected in this iteration.
      coarse: NxHxW bool original coarse masks.
      scores: (N,) predicted IoU of each selected candidate (NaN where not refined).
      valid: (N,) bool, whether each mask got prompts and was refined.

    Returns:
      np.ndarray: (N,) bool.
    """
    ok = np.asarray(valid, dtype=bool).copy()
    if config.accept_min_score is not None:
        # NaN scores belong to skipped masks, which are already False.
        ok &= np.nan_to_num(scores, nan=-np.inf) >= config.accept_min_score
    if config.accept_min_coarse_iou is not None:
        for i in np.flatnonzero(ok):
            # One mask at a time: an NxHxW temporary would cost N full-resolution maps.
            inter = np.count_nonzero(refined[i] & coarse[i])
            union = np.count_nonzero(refined[i] | coarse[i])
            iou = inter / union if union else 1.0
            ok[i] = iou >= config.accept_min_coarse_iou
    return ok
