"""Choosing and checking the torch device.

``"auto"`` picks CUDA when this machine has it, else Apple's MPS when available, else the CPU.
Explicit choices are checked against what this machine has before any work starts, so that
``--device cuda`` on a machine without CUDA fails with one sentence naming the option and the
devices there are, not with a torch traceback from deep inside model loading.

Accepted: ``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps`` (and ``xpu``/``xpu:N`` where torch
has Intel XPU support).
"""

from __future__ import annotations

import torch

from .io import InputError

#: How help texts and errors spell the accepted device strings.
DEVICE_FORMS = "auto, cpu, cuda, cuda:N or mps"
AUTO = "auto"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _xpu_count() -> int:
    xpu = getattr(torch, "xpu", None)
    try:
        return int(xpu.device_count()) if xpu is not None and xpu.is_available() else 0
    except (RuntimeError, AttributeError):  # pragma: no cover - half-installed backends
        return 0


def available_devices() -> list[str]:
    """The devices this process can use, e.g. ``["cpu", "cuda:0 (NVIDIA H200)"]``.

    Returns:
      list[str]: ``cpu`` first, then each CUDA device with its name, ``mps`` and XPU devices.
    """
    out = ["cpu"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            try:
                out.append(f"cuda:{i} ({torch.cuda.get_device_name(i)})")
            except (RuntimeError, AssertionError):  # pragma: no cover - driver trouble
                out.append(f"cuda:{i}")
    if _mps_available():
        out.append("mps")
    out += [f"xpu:{i}" for i in range(_xpu_count())]
    return out


def auto_device() -> str:
    """``"cuda"`` if CUDA is available, else ``"mps"`` if available, else ``"cpu"``."""
    if torch.cuda.is_available():
        return "cuda"
    if _mps_available():
        return "mps"
    return "cpu"


def resolve_device(spec: str | torch.device | None, option: str = "device") -> str:
    """Turn a device choice into a torch device string this machine has, or refuse it.

    Arguments:
      spec: ``"auto"`` (or None), ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, or a
        ``torch.device``.
      option: how error messages refer to the setting, e.g. ``"--device"``.

    Returns:
      str: the device to use, e.g. ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
    """
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == AUTO):
        return auto_device()
    text = str(spec).strip().lower()
    have = ", ".join(available_devices())
    try:
        device = torch.device(text)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(
            f"{option}: {text!r} is not a device; expected {DEVICE_FORMS} (this machine has: "
            f"{have})"
        ) from None
    kind, index = device.type, device.index
    if kind == "cpu":
        if index not in (None, 0):
            _refuse(option, text, "there is one CPU device, cpu", have)
        return "cpu"
    if kind == "cuda":
        if not torch.cuda.is_available():
            _refuse(option, text, "this machine has no usable CUDA device (torch "
                    f"{torch.__version__}, torch.cuda.is_available() is False); choose "
                    "auto or cpu", have)
        count = torch.cuda.device_count()
        if index is not None and index >= count:
            _refuse(option, text, f"CUDA device {index} does not exist ({count} visible)", have)
        return text
    if kind == "mps":
        if not _mps_available():
            _refuse(option, text, "MPS (Apple GPU) is not available here; choose auto or "
                    "cpu", have)
        return text
    if kind == "xpu":
        count = _xpu_count()
        if count == 0 or (index is not None and index >= count):
            _refuse(option, text, "no such Intel XPU device", have)
        return text
    _refuse(option, text, f"device type {kind!r} is not supported; expected {DEVICE_FORMS}",
            have)
    return text  # not reached


def _refuse(option: str, text: str, why: str, have: str) -> None:
    raise InputError(f"{option}: cannot use {text!r}: {why} (this machine has: {have})")
