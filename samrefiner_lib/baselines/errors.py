"""The error every optional baseline raises when its package or weights are missing."""

from __future__ import annotations


class BaselineUnavailableError(RuntimeError):
    """An optional baseline cannot run here; the message says what to install or download."""
