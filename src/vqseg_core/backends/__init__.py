"""Which engine runs a :class:`~vqseg_core.inference.Predictor`'s label passes, chosen by measurement.

* ``torch``: eager torch (float32, or bf16 autocast + channels-last when asked for).
* ``onnx``: ONNX Runtime on the CPU in float32 (:mod:`vqseg_core.backends.onnx`); the
  ``[onnx]`` extra. Measured on the bundled chest pair at 256^2 on 2 shared, loaded cores
  (B8): 1.15-1.2x eager torch float32 at equal threads (one thread, or two with a passive
  OpenMP wait), about 3x eager torch with its default (spinning) threads under load; masks
  equal on 100 % of pixels; exported once per weights and input shape (4-7 s each, then
  cached in memory and on disk: a later start 3 s for both). OpenVINO 2026.4 was measured
  too: equal masks, 1.2-1.4x slower than ONNX Runtime here, so not used.
* ``auto``: ``onnx`` on the CPU when ``precision`` is ``auto`` and onnxruntime is installed
  and the network is one of ours (``vqseg_core.models.UNet`` and its subclasses); ``torch``
  otherwise (``precision="fp32"`` stays the eager float32 reference; bf16 only when asked:
  its masks agreed on 99.87 % of pixels on the chest UNet, under the 99.9 % bar).

A failed export or session falls back to eager torch, and :attr:`Choice.note` says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnx")


@dataclass(frozen=True)
class Choice:
    """The backend a predictor runs and why.

    Attributes:
        name: ``"torch"`` or ``"onnx"``.
        runner: the callable giving logits for ``onnx`` (else ``None``: the torch model).
        note: one line for status bars and reports, e.g. ``"onnxruntime 1.20 float32 (CPU)"``.
    """

    name: str
    runner: Any = None
    note: str = ""


def _ours(model: nn.Module) -> bool:
    from vqseg_core.models import UNet

    return isinstance(model, UNet)


def torch_note(device: torch.device, amp: torch.dtype | None, why: str = "") -> str:
    """The note of an eager torch predictor."""
    precision = "bf16 autocast + channels-last" if amp is not None else "float32"
    note = f"torch {torch.__version__.split('+')[0]} eager {precision} ({device.type.upper()})"
    return f"{note}; {why}" if why else note


def choose(
    backend: str,
    model: nn.Module,
    device: torch.device,
    precision: str,
    amp: torch.dtype | None,
) -> Choice:
    """The backend for ``model`` on ``device`` (see the module doc).

    Raises:
        ValueError: an unknown backend name, or ``onnx`` asked for where it cannot run (not on
            the CPU, with bf16, or without onnxruntime).
    """
    from vqseg_core.backends import onnx

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "torch":
        return Choice("torch", note=torch_note(device, amp))
    if backend == "onnx":
        if device.type != "cpu" or amp is not None:
            raise ValueError("backend 'onnx' runs float32 on the CPU only (device='cpu', "
                             "precision 'auto' or 'fp32')")  # fmt: skip
        if not onnx.available():
            raise ValueError("backend 'onnx' needs onnxruntime and onnx: "
                             "pip install 'napari-vqseg[onnx]'")  # fmt: skip
    else:  # auto
        if device.type != "cpu" or precision != "auto" or amp is not None or not _ours(model):
            return Choice("torch", note=torch_note(device, amp))
        if not onnx.available():
            return Choice("torch", note=torch_note(device, amp, "onnxruntime not installed"))
    try:
        runner = onnx.OnnxLogits(model)
    except Exception as exc:  # any failure: eager torch still works
        logger.warning("ONNX Runtime unavailable (%s); running eager torch", exc)
        return Choice("torch", note=torch_note(device, amp, f"ONNX failed: {exc}"[:200]))
    import onnxruntime

    return Choice("onnx", runner, f"onnxruntime {onnxruntime.__version__} float32 (CPU)")


__all__ = ["BACKENDS", "Choice", "choose", "torch_note"]
