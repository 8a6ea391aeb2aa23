"""Renderers behind one protocol, chosen by name."""

from __future__ import annotations

import logging

from vivify.backends.base import RenderBackend
from vivify.backends.meshwarp import MeshWarpBackend
from vivify.errors import UserError

logger = logging.getLogger(__name__)

BACKENDS = {"mesh": MeshWarpBackend}
CHOICES = ("auto", "mesh", "neural")


def load_backend(name: str = "auto") -> RenderBackend:
    """A backend by name: ``mesh``, ``neural`` or ``auto``.

    ``auto`` picks the weight-free mesh backend in this version (the neural renderer's networks
    load, see :func:`vivify.load_liveportrait`, but its frame pipeline is not wired in yet).
    """
    if name == "auto":
        return MeshWarpBackend()
    if name == "neural":
        raise UserError("the neural backend is not available in this version yet; use --backend mesh")
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r} (choose from {', '.join(CHOICES)})")
    return BACKENDS[name]()


__all__ = ["BACKENDS", "CHOICES", "MeshWarpBackend", "RenderBackend", "load_backend"]
