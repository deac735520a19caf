"""Your own network behind the engine's contract: TorchScript, ONNX or a MONAI network.

:class:`ForeignNetwork` gives any of the three what the engine (:mod:`vqseg_core.engine`,
:class:`~vqseg_core.inference.Predictor`) asks of a network: ``spatial_dims``,
``in_channels``, ``out_channels``, ``model(x)`` -> logits on the input's grid,
``forward_with_aux``, ``encode`` and ``padded_shape``. Inputs are padded to a multiple of
``divisible_by`` (replicate padding split evenly before/after each axis, exactly as
:class:`~vqseg_core.models.UNet` pads) and the logits are cropped back.

Latents come from the bottleneck the user names: a forward hook on a module (MONAI), a method
of the compiled module (TorchScript: PyTorch refuses hooks on compiled modules) or a graph
output (ONNX). Without one, :attr:`ForeignNetwork.has_latents` is False, :meth:`encode`
raises and the engine shows masks and metrics only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from vqseg_core.checkpoint import CheckpointError
from vqseg_core.models.output import Encoding, ModelOutput
from vqseg_core.models.padding import crop_padding, pad_to

TYPES = ("torchscript", "onnx", "monai")
"""The kinds of network file a ``vqseg-model`` YAML may name."""


class ForeignModelError(CheckpointError):
    """Your own model cannot be used: the message names the file, the key and the value."""


class ForeignNetwork(nn.Module):
    """A TorchScript module, an ONNX session or a MONAI network with the engine's contract.

    Args:
        backend: a :class:`TorchBackend` or :class:`OnnxBackend`.
        spatial_dims: 2 or 3.
        in_channels: input channels.
        out_channels: logits channels (background included).
        divisible_by: the network's spatial sizes must be multiples of these (one per axis).
        kind: ``"torchscript"``, ``"onnx"`` or ``"monai"`` (for messages).
        source: the YAML the network came from (for messages).
    """

    def __init__(
        self,
        backend: Any,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        divisible_by: Sequence[int],
        kind: str,
        source: str = "",
    ) -> None:
        super().__init__()
        self.backend: Any
        if isinstance(backend, nn.Module):
            self.backend = backend
        else:
            object.__setattr__(self, "backend", backend)  # an ONNX session: no parameters
        self.spatial_dims = int(spatial_dims)
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.divisible_by = tuple(int(d) for d in divisible_by)
        self.kind = kind
        self.source = source

    @property
    def has_latents(self) -> bool:
        """Whether a bottleneck was named (latent maps); else masks and metrics only."""
        return self.backend.bottleneck is not None

    # ---- the engine's contract -------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, K, *spatial)`` for ``x`` ``(B, in_channels, *spatial)``."""
        return self._run(x, latent=False)[0]

    def forward_with_aux(self, x: torch.Tensor) -> ModelOutput:
        """Logits and (with a bottleneck) the encoding, in one pass where the backend can."""
        logits, latent = self._run(x, latent=self.has_latents)
        encoding = None if latent is None else Encoding(features=latent)
        return ModelOutput(logits=logits, encoding=encoding)  # type: ignore[arg-type]

    def encode(self, x: torch.Tensor) -> Encoding:
        """The named bottleneck's output for ``x`` (``ForeignModelError`` without one)."""
        if not self.has_latents:
            raise ForeignModelError(
                self.source or None,
                "names no bottleneck: this model has no latent maps (masks and metrics only); "
                "add 'bottleneck:' to its YAML for them",
            )
        features = self._run(x, latent=True)[1]
        assert features is not None  # _run checked it
        return Encoding(features=features)

    def padded_shape(self, spatial: Sequence[int]) -> tuple[int, ...]:
        """The spatial shape an input of shape ``spatial`` is padded to."""
        return tuple(-(-int(s) // d) * d for s, d in zip(spatial, self.divisible_by, strict=True))

    def paths(self, x: torch.Tensor) -> Any:
        """Not available: the path probes need the project's own UNets."""
        raise ForeignModelError(
            self.source or None,
            f"a {self.kind} model has no separate bottleneck and skip paths: the mechanism "
            "probes (vqseg-eval probe) need the project's own UNets; leave this model out",
        )

    # ---- internals -------------------------------------------------------------------------
    def _run(self, x: torch.Tensor, latent: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        if x.ndim != self.spatial_dims + 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self.source or 'model'}: expected input (B, {self.in_channels}, "
                f"{self.spatial_dims} spatial axes), got {tuple(x.shape)}"
            )
        if any(s == 0 for s in x.shape[2:]):
            raise ValueError(f"input has an empty spatial axis: {tuple(x.shape)}")
        padded, pads = self._pad(x)
        logits, feat = self.backend.run(padded, latent)
        want = (padded.shape[0], padded.shape[2:])
        if logits.ndim != x.ndim or (logits.shape[0], logits.shape[2:]) != want:
            raise ForeignModelError(
                self.source or None,
                f"the {self.kind} model gave logits of shape {tuple(logits.shape)} for an input "
                f"of shape {tuple(padded.shape)}: it must give (B, classes, *input spatial)",
            )
        if latent and (feat is None or feat.ndim != x.ndim or feat.shape[0] != x.shape[0]):
            got = None if feat is None else tuple(feat.shape)
            raise ForeignModelError(
                self.source or None,
                f"bottleneck {self.backend.bottleneck!r} gave {got} for an input of shape "
                f"{tuple(padded.shape)}: it must give (B, channels, *latent spatial)",
            )
        return crop_padding(logits, pads), feat

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
        return pad_to(x, self.padded_shape(tuple(x.shape[2:])))


class TorchBackend(nn.Module):
    """A TorchScript module or a MONAI network; the latent from a method or a forward hook.

    Args:
        net: the module.
        bottleneck: ``None``; a method name (TorchScript); a module name (MONAI: hooked).
        hook: hook the module ``bottleneck`` (MONAI) rather than call a method (TorchScript).
    """

    def __init__(self, net: nn.Module, bottleneck: str | None, hook: bool) -> None:
        super().__init__()
        self.net = net
        self.bottleneck = bottleneck
        self._captured = threading.local()
        self._method: Callable[[torch.Tensor], Any] | None = None
        if bottleneck is not None and hook:
            modules = dict(net.named_modules())
            modules[bottleneck].register_forward_hook(self._capture)
        elif bottleneck is not None:
            self._method = getattr(net, bottleneck)

    def _capture(self, module: nn.Module, inputs: Any, output: Any) -> None:
        if getattr(self._captured, "on", False):
            self._captured.value = output

    def run(self, x: torch.Tensor, latent: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits, latent or None)`` for the padded input ``x``."""
        if not latent:
            return _tensor(self.net(x), "forward"), None
        if self._method is not None:
            return _tensor(self.net(x), "forward"), _tensor(self._method(x), self.bottleneck)
        self._captured.on, self._captured.value = True, None
        try:
            logits = _tensor(self.net(x), "forward")
            value = self._captured.value
        finally:
            self._captured.on, self._captured.value = False, None
        return logits, None if value is None else _tensor(value, self.bottleneck)


def _tensor(value: Any, what: str | None) -> torch.Tensor:
    """The tensor a module gave (the first of a tuple or list of them)."""
    if isinstance(value, list | tuple) and value and isinstance(value[0], torch.Tensor):
        value = value[0]
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{what} gave {type(value).__name__}, not a tensor")
    return value.float() if value.dtype != torch.float32 else value


class OnnxBackend:
    """An onnxruntime session (CPU): logits from one output, the latent from another.

    Args:
        session: ``onnxruntime.InferenceSession``.
        input_name: the image input.
        logits: the logits output's name.
        bottleneck: the latent output's name, or ``None``.
    """

    def __init__(self, session: Any, input_name: str, logits: str, bottleneck: str | None) -> None:
        self.session = session
        self.input_name = input_name
        self.logits = logits
        self.bottleneck = bottleneck
        shape = session.get_inputs()[0].shape
        self.fixed_size = all(isinstance(s, int) for s in shape[2:])  # spatial sizes fixed

    def run(self, x: torch.Tensor, latent: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits, latent or None)`` for the padded input ``x`` (on ``x``'s device)."""
        names = [self.logits, self.bottleneck] if latent and self.bottleneck else [self.logits]
        arr = np.ascontiguousarray(x.detach().float().cpu().numpy())
        outs = self.session.run(names, {self.input_name: arr})
        tensors = [torch.from_numpy(np.asarray(o, dtype=np.float32)).to(x.device) for o in outs]
        return tensors[0], tensors[1] if len(tensors) > 1 else None
