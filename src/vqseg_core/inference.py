"""Running a trained network fast: device, bf16 + channels-last, sliding windows for volumes.

:class:`Predictor` wraps one network for inference. On CPU with AVX-512 and on CUDA it runs
under bf16 autocast with channels-last tensors (about 3-5x faster than float32 here); the
quantiser always computes distances in float32. Volumes larger than the patch size go through
MONAI's ``sliding_window_inference``; a 2D network given a volume runs slice by slice (axial,
the last axis). For labels of a volume (:meth:`Predictor.predict_volume`,
:meth:`Predictor.iter_volume`) the windows run slab by slab along the axial axis, the displayed
slice first, keeping only the logits of unfinished slices (:mod:`vqseg_core.volume`); the
results equal MONAI's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vqseg_core.backends import Choice, choose, torch_note
from vqseg_core.device import channels_last, inference_dtype, pick_device
from vqseg_core.models.output import Encoding, Latent
from vqseg_core.volume import (
    CancelFn,
    SlabDone,
    SlabFn,
    VolumeResult,
    drive,
    iter_slicewise,
    iter_sliding_window,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    """Logits and (for 2D or un-windowed inputs) the bottleneck of one forward pass."""

    logits: torch.Tensor
    encoding: Encoding | None


class Predictor:
    """A network ready for inference on one device.

    Args:
        model: a :class:`~vqseg_core.models.UNet` or :class:`~vqseg_core.models.VQUNet`.
        device: ``auto`` (CUDA -> MPS -> CPU), ``cpu``, ``cuda``, ``mps`` or a torch device.
        precision: ``auto`` (float32 on the CPU through ``backend``, bf16 on CUDA), ``bf16``
            (autocast + channels-last) or ``fp32`` (eager torch float32, the reference).
        patch_size: sliding-window size for volumes (``None``: whole input at once).
        overlap: sliding-window overlap fraction.
        sw_batch_size: windows per forward pass.
        mode: sliding-window blending, ``constant`` or ``gaussian`` (as MONAI's).
        backend: ``auto``, ``torch`` or ``onnx`` (see :mod:`vqseg_core.backends`); ``auto``
            reads ``VQSEG_BACKEND`` when set.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        device: str | torch.device = "auto",
        precision: str = "auto",
        patch_size: Sequence[int] | None = None,
        overlap: float = 0.25,
        sw_batch_size: int = 2,
        mode: str = "constant",
        backend: str = "auto",
    ) -> None:
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.amp = inference_dtype(self.device, precision)
        self.spatial_dims = int(model.spatial_dims)
        fmt = channels_last(self.spatial_dims) if self.amp is not None else torch.contiguous_format
        self.memory_format = fmt
        self.model = model.to(self.device, memory_format=fmt).eval()
        self.patch_size = tuple(patch_size) if patch_size else None
        self.overlap = overlap
        self.sw_batch_size = sw_batch_size
        self.mode = mode
        if backend == "auto":
            backend = os.environ.get("VQSEG_BACKEND", "").strip() or "auto"
        self._choice = choose(backend, self.model, self.device, precision, self.amp)

    @property
    def backend(self) -> str:
        """The backend running label passes now: ``"torch"`` or ``"onnx"``."""
        return self._choice.name

    @property
    def backend_note(self) -> str:
        """One line for status bars and reports: which backend runs, at which precision."""
        return self._choice.note

    def warm_up(self, shape: Sequence[int]) -> None:
        """Prepare the backend for inputs ``(B, C, *shape)`` now (ONNX: export or load from the
        disk cache and start a session, seconds the first time for each weights and shape),
        e.g. in a background thread when a model set is loaded; a failure falls back to eager
        torch as a failing pass would."""
        runner = self._choice.runner
        if runner is None:
            return
        try:
            spatial = runner.input_shape(tuple(int(s) for s in shape))
            runner.session((int(self.model.in_channels), *spatial))
        except Exception as exc:  # eager torch still works
            self._fall_back(exc)

    def _fall_back(self, exc: Exception) -> None:
        logger.warning("ONNX Runtime failed (%s); running eager torch from now", exc)
        why = f"ONNX failed: {exc}"[:200]
        self._choice = Choice("torch", note=torch_note(self.device, self.amp, why))

    def _logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits of a batch already on the device (inside inference mode and autocast)."""
        runner = self._choice.runner
        if runner is not None:
            try:
                return runner(batch)
            except Exception as exc:  # eager torch still works
                self._fall_back(exc)
        return self.model(batch)

    def _autocast(self):
        return torch.autocast(
            self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None
        )

    def forward(self, x: torch.Tensor, with_encoding: bool = True) -> Prediction:
        """Logits ``(B, K, *spatial)`` (float32, on the CPU) for ``x`` ``(B, C, *spatial)``.

        The bottleneck (``encoding``) is returned for whole-input passes only, not for sliding
        windows or slice-by-slice volumes.
        """
        if self.spatial_dims == 2 and x.ndim == 5:
            return Prediction(logits=self._slicewise(x), encoding=None)
        x = x.to(self.device).contiguous(memory_format=self.memory_format)
        windowed = self.patch_size is not None and any(
            p < n for p, n in zip(self.patch_size, x.shape[2:], strict=True)
        )
        with torch.inference_mode(), self._autocast():
            if windowed:
                from monai.inferers import sliding_window_inference

                logits = sliding_window_inference(
                    x, self.patch_size, sw_batch_size=self.sw_batch_size, predictor=self._logits,
                    overlap=self.overlap, mode=self.mode,
                )  # fmt: skip
                encoding = None
            elif with_encoding:
                out = self.model.forward_with_aux(x)
                logits, encoding = out.logits, out.encoding
            else:
                logits, encoding = self._logits(x), None
        return Prediction(logits=logits.float().cpu(), encoding=_cpu(encoding))

    def _slicewise(self, x: torch.Tensor, chunk: int = 16) -> torch.Tensor:
        """A 2D network on a volume ``(B, C, H, W, Z)``: each axial slice, ``chunk`` at a time."""
        b, c, h, w, z = x.shape
        slices = x.movedim(-1, 1).reshape(b * z, c, h, w)
        parts = []
        for start in range(0, slices.shape[0], chunk):
            batch = slices[start : start + chunk].to(self.device)
            batch = batch.contiguous(memory_format=self.memory_format)
            with torch.inference_mode(), self._autocast():
                parts.append(self._logits(batch).float().cpu())
        logits = torch.cat(parts)
        return logits.reshape(b, z, -1, h, w).movedim(1, -1)

    def windowed(self, shape: Sequence[int]) -> bool:
        """Whether a volume of spatial ``shape`` runs slice by slice or through sliding windows."""
        if self.spatial_dims < len(shape):
            return True
        patch = self.patch_size
        return patch is not None and any(p < n for p, n in zip(patch, shape, strict=True))

    def _run(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits of one batch on the device, at the predictor's precision."""
        batch = batch.to(self.device).contiguous(memory_format=self.memory_format)
        with torch.inference_mode(), self._autocast():
            return self._logits(batch)

    def iter_volume(
        self,
        x: torch.Tensor,
        *,
        focus: int | None = None,
        cancel: CancelFn | None = None,
        keep_logits: bool = False,
        preview: bool = False,
    ) -> Generator[SlabDone, None, VolumeResult]:
        """Labels of one input ``(1, C, *spatial)``, yielding finished axial slices as they come.

        A 2D network on a volume runs chunks of slices, a windowed 3D network runs slabs of
        windows (both with the chunk or slabs holding ``focus`` first, see
        :mod:`vqseg_core.volume`); anything else is one whole-input pass (one step).
        ``preview``: a windowed 3D network whose exact ``focus`` slice needs over a fifth of the
        windows first yields a :class:`~vqseg_core.volume.PreviewDone` (not final) of that slice.
        """
        spatial = tuple(x.shape[2:])
        if self.spatial_dims == 2 and x.ndim == 5:
            return iter_slicewise(x, self._run, focus=focus, cancel=cancel, keep_logits=keep_logits)
        if x.ndim == 5 and self.windowed(spatial):
            assert self.patch_size is not None
            return iter_sliding_window(
                x, self._run, self.patch_size, self.overlap, sw_batch_size=self.sw_batch_size,
                mode=self.mode, focus=focus, cancel=cancel, keep_logits=keep_logits,
                preview=preview,
            )  # fmt: skip
        return self._iter_whole(x, cancel, keep_logits)

    def _iter_whole(
        self, x: torch.Tensor, cancel: CancelFn | None, keep_logits: bool
    ) -> Generator[SlabDone, None, VolumeResult]:
        from vqseg_core.volume import check_cancel

        check_cancel(cancel)
        logits = self.forward(x, with_encoding=False).logits[0]
        dtype = np.uint8 if logits.shape[0] <= 256 else np.int64
        labels = logits.argmax(0).numpy().astype(dtype)
        n = labels.shape[-1]
        yield SlabDone(0, n, labels, 1, 1)
        return VolumeResult(labels, logits if keep_logits else None)

    def predict_volume(
        self,
        x: torch.Tensor,
        *,
        focus: int | None = None,
        on_slab: SlabFn | None = None,
        cancel: CancelFn | None = None,
    ) -> np.ndarray:
        """Argmax labels ``(*spatial)`` (uint8) of one input ``(1, C, *spatial)``.

        Args:
            x: the input.
            focus: axial slice (last axis) to finish first.
            on_slab: called as ``on_slab(z_start, z_stop, labels_so_far)`` whenever slices
                ``z_start:z_stop`` are final.
            cancel: returns True to abort (:class:`~vqseg_core.volume.Cancelled`).
        """
        return drive(self.iter_volume(x, focus=focus, cancel=cancel), on_slab).labels

    def predict_labels(
        self,
        image: np.ndarray,
        *,
        focus: int | None = None,
        on_slab: SlabFn | None = None,
        cancel: CancelFn | None = None,
    ) -> np.ndarray:
        """Argmax labels ``(*spatial)`` (uint8/int64) for one image ``(C, *spatial)`` or ``(*spatial)``.

        Volumes go through :meth:`predict_volume` (``focus``, ``on_slab``, ``cancel`` apply there).
        """
        x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
        if x.ndim == self.spatial_dims or x.shape[0] != self.model.in_channels:
            x = x[None]  # no channel axis given
        if x.ndim == 4 and self.windowed(tuple(x.shape[1:])):
            return self.predict_volume(x[None], focus=focus, on_slab=on_slab, cancel=cancel)
        logits = self.forward(x[None], with_encoding=False).logits
        return logits.argmax(1)[0].numpy()


def _cpu(encoding: Encoding | None) -> Encoding | None:
    if encoding is None:
        return None

    def move(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else (t.float().cpu() if t.is_floating_point() else t.cpu())

    features = move(encoding.features)
    assert features is not None
    skips = {
        name: Latent(move(lat.features), move(lat.quantized), move(lat.indices))  # type: ignore[arg-type]
        for name, lat in encoding.skips.items()
    }
    return Encoding(
        features=features, quantized=move(encoding.quantized), indices=move(encoding.indices),
        skips=skips,
    )
