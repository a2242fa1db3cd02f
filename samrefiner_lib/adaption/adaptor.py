"""The IoU-head adaptor of SAMRefiner++: a LoRA update of the IoU MLP's last layer.

An :class:`IoUHeadAdaptor` is data (the LoRA factors, their configuration, and a description of
the base model), independent of any model instance. It can be

* attached to a SAM (the last layer of ``mask_decoder.iou_prediction_head`` is wrapped in a
  :class:`~samrefiner_lib.adaption.lora.LoRALinear`), temporarily with :meth:`applied` or until
  :func:`detach_adaptor`;
* merged into a SAM's weights (:meth:`merge`), which needs no code at inference time;
* saved to and loaded from its own small file (a few KB), which records the LoRA configuration,
  the base model's name, architecture and a fingerprint of the weights it was trained on.

The fingerprint is a SHA-256 of the base IoU head's parameters. Applying an adaptor to another
model, or to a model it has already been merged into, changes that head and is refused.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import pickle
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from segment_anything.modeling import Sam
from torch import nn

from ..models.builders import SamSpec
from ..refiner import SAMRefiner
from .lora import LoRAConfig, LoRALinear, init_lora_factors

#: Value of the ``format`` key of adaptor files.
FILE_FORMAT = "samrefiner-iou-adaptor"
FILE_VERSION = 1


class AdaptorError(ValueError):
    """An adaptor file is unreadable, or an adaptor does not fit the model it is applied to."""


def _iou_head_layers(sam: Sam) -> nn.ModuleList:
    try:
        layers = sam.mask_decoder.iou_prediction_head.layers
    except AttributeError as exc:
        raise AdaptorError(
            "model has no mask_decoder.iou_prediction_head.layers (not a segment_anything Sam)"
        ) from exc
    if len(layers) == 0:
        raise AdaptorError("model's IoU-prediction head has no layers")
    return layers


def target_layer_name(sam: Sam) -> str:
    """Dotted name of the adapted layer, e.g. ``mask_decoder.iou_prediction_head.layers.2``."""
    return f"mask_decoder.iou_prediction_head.layers.{len(_iou_head_layers(sam)) - 1}"


def attached_adaptor(sam: Sam) -> LoRALinear | None:
    """The LoRA module currently attached to ``sam``'s IoU head, or None."""
    last = _iou_head_layers(sam)[-1]
    return last if isinstance(last, LoRALinear) else None


def detach_adaptor(sam: Sam) -> LoRALinear | None:
    """Put the base layer back; return the removed LoRA module (None if none was attached)."""
    layers = _iou_head_layers(sam)
    last = layers[-1]
    if not isinstance(last, LoRALinear):
        return None
    layers[len(layers) - 1] = last.base
    return last


def _base_linear(sam: Sam) -> nn.Linear:
    last = _iou_head_layers(sam)[-1]
    if isinstance(last, LoRALinear):
        return last.base
    if not isinstance(last, nn.Linear):
        raise AdaptorError(f"the IoU head's last layer is a {type(last).__name__}, not a Linear")
    return last


def iou_head_fingerprint(sam: Sam) -> str:
    """SHA-256 (hex) of the base IoU head's parameters (any attached LoRA update excluded).

    Arguments:
      sam: a segment_anything Sam.

    Returns:
      str: 64 hex digits; equal for bit-identical IoU heads on any device.
    """
    h = hashlib.sha256()
    for i, layer in enumerate(_iou_head_layers(sam)):
        base = layer.base if isinstance(layer, LoRALinear) else layer
        for name, p in sorted(base.named_parameters()):
            arr = p.detach().to("cpu", torch.float32).contiguous().numpy()
            h.update(f"{i}.{name}:{arr.shape}".encode())
            h.update(arr.tobytes())
    return h.hexdigest()


@dataclass
class BaseModelInfo:
    """What an adaptor was trained on.

    Attributes:
      model: registered model name (e.g. ``sam_tiny_synth``, ``vit_h``), or None if unknown.
      spec: the architecture (``SamSpec.to_dict()``), or None if unknown.
      checkpoint: the weights file the model was loaded from, or None.
      fingerprint: :func:`iou_head_fingerprint` of the base model.
      layer: dotted name of the adapted layer.
      in_features, out_features: shape of the adapted layer.
    """

    model: str | None
    spec: dict[str, Any] | None
    checkpoint: str | None
    fingerprint: str
    layer: str
    in_features: int
    out_features: int

    def describe(self) -> str:
        name = self.model or "unnamed model"
        return f"{name} [{self.layer}, IoU head {self.fingerprint[:12]}]"


def _plain(obj: Any) -> Any:
    """JSON-compatible copy (what ``torch.load(weights_only=True)`` reads back safely)."""
    return json.loads(json.dumps(obj, default=str))


@dataclass
class IoUHeadAdaptor:
    """LoRA factors for SAM's IoU head plus their provenance.

    Attributes:
      config: rank, alpha and dropout.
      lora_a: rank x in_features float32 CPU tensor.
      lora_b: out_features x rank float32 CPU tensor (zero for a fresh adaptor).
      base: the base model it belongs to.
      training: how it was trained (settings, data description, sample counts).
      log: one dict per optimiser step (see :class:`~samrefiner_lib.adaption.adapt.StepRecord`).
    """

    config: LoRAConfig
    lora_a: torch.Tensor
    lora_b: torch.Tensor
    base: BaseModelInfo
    training: dict[str, Any] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        sam: Sam,
        config: LoRAConfig | None = None,
        seed: int = 0,
        model_name: str | None = None,
        spec: SamSpec | dict[str, Any] | None = None,
        checkpoint: str | os.PathLike | None = None,
    ) -> IoUHeadAdaptor:
        """A fresh (no-op) adaptor for ``sam``.

        Arguments:
          sam: the base model.
          config: LoRA settings (default rank 4).
          seed: seeds the initial A.
          model_name, spec, checkpoint: recorded as the base model's identity.

        Returns:
          IoUHeadAdaptor with B = 0.
        """
        config = config or LoRAConfig()
        base = _base_linear(sam)
        a, b = init_lora_factors(base.in_features, base.out_features, config.rank, seed)
        spec_dict = spec.to_dict() if isinstance(spec, SamSpec) else spec
        info = BaseModelInfo(
            model=model_name, spec=None if spec_dict is None else dict(spec_dict),
            checkpoint=None if checkpoint is None else str(checkpoint),
            fingerprint=iou_head_fingerprint(sam), layer=target_layer_name(sam),
            in_features=base.in_features, out_features=base.out_features,
        )
        return cls(config, a, b, info, training={"seed": seed})

    @property
    def is_noop(self) -> bool:
        """True while B is zero (the adaptor leaves the model unchanged)."""
        return not bool(self.lora_b.any())

    def describe(self) -> str:
        """One line: LoRA settings and base model."""
        c = self.config
        return (f"IoU-head LoRA (rank {c.rank}, alpha {c.alpha:g}, dropout {c.dropout:g}) "
                f"for {self.base.describe()}")

    def check(self, sam: Sam, strict: bool = True) -> None:
        """Raise AdaptorError unless ``sam`` is the base model this adaptor was made for.

        Arguments:
          sam: the model to check.
          strict: a fingerprint mismatch is an error (True) or a warning (False). Layer shape
            mismatches are always errors.
        """
        base = _base_linear(sam)
        if (base.in_features, base.out_features) != (self.base.in_features,
                                                     self.base.out_features):
            raise AdaptorError(
                f"adaptor is for a {self.base.in_features}->{self.base.out_features} IoU-head "
                f"layer ({self.base.describe()}), the model's is "
                f"{base.in_features}->{base.out_features}"
            )
        found = iou_head_fingerprint(sam)
        if found != self.base.fingerprint:
            msg = (f"adaptor was trained on {self.base.describe()} but the model's IoU head has "
                   f"fingerprint {found[:12]}: another model, or the adaptor is already merged "
                   "into it")
            if strict:
                raise AdaptorError(msg)
            warnings.warn(msg, stacklevel=3)

    def attach(self, sam: Sam, strict: bool = True) -> LoRALinear:
        """Wrap the IoU head's last layer in a LoRA module holding a copy of the factors.

        Arguments:
          sam: the base model (changed in place).
          strict: see :meth:`check`.

        Returns:
          LoRALinear: the attached module, in eval mode.
        """
        if attached_adaptor(sam) is not None:
            raise AdaptorError("the model already has an IoU-head adaptor attached; detach it")
        self.check(sam, strict)
        layers = _iou_head_layers(sam)
        module = LoRALinear(layers[-1], self.config, self.lora_a, self.lora_b).eval()
        layers[len(layers) - 1] = module
        return module

    @contextmanager
    def applied(self, target: Sam | SAMRefiner, strict: bool = True) -> Iterator[LoRALinear]:
        """Context manager: the adaptor is attached inside the block and removed after it.

        Arguments:
          target: a Sam or a SAMRefiner (its ``sam`` is adapted).
          strict: see :meth:`check`.

        Yields:
          LoRALinear: the attached module.
        """
        sam = target.sam if isinstance(target, SAMRefiner) else target
        module = self.attach(sam, strict)
        try:
            yield module
        finally:
            if attached_adaptor(sam) is module:
                detach_adaptor(sam)

    def update_from(self, module: LoRALinear) -> None:
        """Copy the (trained) factors of an attached module into this adaptor."""
        self.lora_a = module.lora_a.detach().to("cpu", torch.float32).clone()
        self.lora_b = module.lora_b.detach().to("cpu", torch.float32).clone()

    def merge(self, sam: Sam, inplace: bool = False, strict: bool = True) -> Sam:
        """Fold the update into the IoU head's last weight: ``W <- W + alpha / rank * B @ A``.

        Arguments:
          sam: the base model.
          inplace: change ``sam`` itself (True) or a deep copy (False).
          strict: see :meth:`check`.

        Returns:
          Sam: the merged model; it needs no adaptor code and fails :meth:`check` afterwards,
          so the same update cannot be applied twice by accident.
        """
        if attached_adaptor(sam) is not None:
            raise AdaptorError("detach the attached adaptor before merging into the model")
        self.check(sam, strict)
        out = sam if inplace else copy.deepcopy(sam)
        layer = _base_linear(out)
        delta = self.config.scaling * (self.lora_b @ self.lora_a)
        with torch.no_grad():
            layer.weight.add_(delta.to(layer.weight.device, layer.weight.dtype))
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Write the adaptor to its own file, atomically (temp file, then rename).

        Returns:
          Path: the file written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "lora": self.config.to_dict(),
            "state_dict": {"lora_a": self.lora_a.detach().cpu().clone(),
                           "lora_b": self.lora_b.detach().cpu().clone()},
            "base": _plain(asdict(self.base)),
            "training": _plain(self.training),
            "log": _plain(self.log),
        }
        tmp = path.with_name(path.name + ".part")
        torch.save(payload, tmp)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> IoUHeadAdaptor:
        """Read a file written by :meth:`save`.

        Raises:
          AdaptorError: missing, unreadable or not an adaptor file (the message names it).
        """
        path = Path(path)
        if not path.is_file():
            raise AdaptorError(f"adaptor file not found: {path}")
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError,
                OSError) as exc:
            raise AdaptorError(f"cannot read adaptor file {path}: {exc}") from exc
        if not isinstance(obj, dict) or obj.get("format") != FILE_FORMAT:
            raise AdaptorError(
                f"{path} is not an IoU-head adaptor file (written by `samrefiner adapt` or "
                "IoUHeadAdaptor.save); a SAM checkpoint goes to --checkpoint instead"
            )
        if obj.get("version") != FILE_VERSION:
            raise AdaptorError(f"{path}: unsupported adaptor file version {obj.get('version')!r}")
        try:
            config = LoRAConfig.from_dict(obj["lora"])
            state = obj["state_dict"]
            base = BaseModelInfo(**obj["base"])
            a, b = state["lora_a"].float(), state["lora_b"].float()
        except (KeyError, TypeError, ValueError) as exc:
            raise AdaptorError(f"{path}: malformed adaptor file ({exc})") from exc
        if tuple(a.shape) != (config.rank, base.in_features) or \
                tuple(b.shape) != (base.out_features, config.rank):
            raise AdaptorError(f"{path}: factor shapes {tuple(a.shape)}, {tuple(b.shape)} do not "
                               f"match rank {config.rank} and the recorded layer shape")
        return cls(config, a, b, base, dict(obj.get("training") or {}),
                   list(obj.get("log") or []))


def load_adaptor(path: str | os.PathLike) -> IoUHeadAdaptor:
    """Read an adaptor file (see :meth:`IoUHeadAdaptor.load`)."""
    return IoUHeadAdaptor.load(path)
