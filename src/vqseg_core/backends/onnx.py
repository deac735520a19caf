"""The logits of a bundled or ``vqseg-train`` network through ONNX Runtime (CPU, float32).

:class:`OnnxLogits` exports the network once per spatial shape (the batch axis stays free) with
torch's TorchScript-based exporter (the VQ quantiser's float32 distances and argmin go into the
graph as they are), keeps the file in memory (shared by every predictor of the same weights in
this process) and on disk under :func:`cache_dir`, keyed by a hash of the weights and the
architecture, and runs it in an ``onnxruntime`` session with
:func:`vqseg_core.threads.session_threads` threads (one session per shape and thread count)
and no spinning threads (they would stall on a shared machine, see
:mod:`vqseg_core.threads`). Only logits come from ONNX: latents stay eager torch
float32 (the engine encodes with ``predictor.model``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import logging
import os
import threading
import time
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

logger = logging.getLogger(__name__)

MEMORY_FILES = 8  # exported files kept in memory (about 13 MB each for the chest pair)
CACHE_ENV = "VQSEG_CACHE_DIR"
CACHE_MIB_ENV = "VQSEG_ONNX_CACHE_MIB"
CACHE_MIB = 1024  # disk bound: about 80 exports of the chest pair's size

_files: OrderedDict[str, bytes] = OrderedDict()
_lock = threading.Lock()


def available() -> bool:
    """Whether onnxruntime and onnx (the exporter's output format) are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def cache_dir() -> Path:
    """Where exported files are kept: ``$VQSEG_CACHE_DIR/onnx``, else the user cache dir
    (``$XDG_CACHE_HOME`` or ``~/.cache``) ``/vqseg/onnx``. ``VQSEG_CACHE_DIR=off``: no disk."""
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root) / "onnx"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vqseg" / "onnx"


def cache_limit_bytes() -> int:
    """The disk cache's bound: ``$VQSEG_ONNX_CACHE_MIB`` MiB, else :data:`CACHE_MIB`."""
    raw = os.environ.get(CACHE_MIB_ENV, "").strip()
    try:
        mib = float(raw) if raw else CACHE_MIB
    except ValueError:
        logger.warning("%s=%r is not a number; using %d MiB", CACHE_MIB_ENV, raw, CACHE_MIB)
        mib = CACHE_MIB
    return max(0, int(mib * 2**20))


def prune_cache(directory: Path, limit: int, keep: Path | None = None) -> list[Path]:
    """Delete the least recently used ``*.onnx`` files in ``directory`` (by modification time,
    which a cache hit refreshes) until the rest fit in ``limit`` bytes; ``keep`` (the file just
    written) stays even when it alone is larger. Returns the deleted files. Files that vanish or
    cannot be deleted (another process, permissions) are skipped: the cache is only a cache."""
    entries = []
    for path in directory.glob("*.onnx"):
        try:
            st = path.stat()
        except OSError:
            continue
        entries.append((st.st_mtime, st.st_size, path))
    total = sum(size for _, size, _ in entries)
    deleted = []
    for _, size, path in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        if keep is not None and path == keep:
            continue
        try:
            path.unlink()
        except OSError:
            continue
        total -= size
        deleted.append(path)
    return deleted


def weights_key(model: nn.Module) -> str:
    """A hash of the architecture (the module's repr) and every parameter and buffer."""
    digest = hashlib.sha256(repr(model).encode())
    digest.update(f"torch {torch.__version__}".encode())
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name} {tuple(t.shape)} {t.dtype}".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()[:32]


class _Logits(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def export_logits(model: nn.Module, shape: tuple[int, ...]) -> bytes:
    """The ONNX file of ``model``'s logits for inputs ``(B, *shape)`` (``shape`` = channels and
    spatial sizes; the batch axis is free)."""
    wrapper = _Logits(model).eval()
    x = torch.zeros((1, *shape))
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes on shape checks, exporter deprecation
        torch.onnx.export(
            wrapper, (x,), buffer, dynamo=False, input_names=["image"], output_names=["logits"],
            dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        )  # fmt: skip
    return buffer.getvalue()


class OnnxLogits:
    """Logits of one network through ONNX Runtime; call it like the model.

    Args:
        model: the network (float32, eval); kept for its weights' key and for exports.
        disk_cache: keep exported files under :func:`cache_dir` too.
    """

    def __init__(self, model: nn.Module, disk_cache: bool = True) -> None:
        import onnxruntime  # noqa: F401  (fail here, not on the first call)

        self.model = model
        self.key = weights_key(model)
        self.disk_cache = disk_cache and os.environ.get(CACHE_ENV, "").lower() != "off"
        self._sessions: dict[tuple[tuple[int, ...], int], Any] = {}
        self.export_seconds: dict[tuple[int, ...], float] = {}  # 0.0: from a cache

    def _file(self, shape: tuple[int, ...]) -> bytes:
        name = f"{self.key}-{'x'.join(map(str, shape))}.onnx"
        with _lock:
            blob = _files.get(name)
            if blob is not None:
                _files.move_to_end(name)
                self.export_seconds.setdefault(shape, 0.0)
                return blob
        path = cache_dir() / name
        blob = None
        if self.disk_cache and path.is_file():
            try:
                blob = path.read_bytes()
                self.export_seconds.setdefault(shape, 0.0)
                os.utime(path)  # recently used: the last to be pruned
            except OSError:
                pass
        if blob is None:
            t0 = time.perf_counter()
            blob = export_logits(self.model, shape)
            self.export_seconds[shape] = time.perf_counter() - t0
            if self.disk_cache:
                self._store(path, blob)
        with _lock:
            _files[name] = blob
            while len(_files) > MEMORY_FILES:
                _files.popitem(last=False)
        return blob

    @staticmethod
    def _store(path: Path, blob: bytes) -> None:
        from vqseg_core.checkpoint import atomic_write_bytes

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, blob)
        except OSError as exc:  # a read-only or full cache dir only costs the next export
            logger.info("ONNX cache not written (%s): %s", path, exc)
            return
        for old in prune_cache(path.parent, cache_limit_bytes(), keep=path):
            logger.info("ONNX cache: removed %s (over %d MiB)", old.name, cache_limit_bytes() >> 20)

    def session(self, shape: tuple[int, ...], threads: int | None = None) -> Any:
        """The (cached) session for inputs ``(B, *shape)`` with ``threads`` intra-op threads
        (default: :func:`vqseg_core.threads.session_threads`)."""
        import onnxruntime as ort

        from vqseg_core.threads import session_threads

        threads = max(1, threads or session_threads())
        key = (shape, threads)
        session = self._sessions.get(key)
        if session is None:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3
            session = ort.InferenceSession(
                self._file(shape), options, providers=["CPUExecutionProvider"]
            )
            self._sessions[key] = session
        return session

    def input_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The spatial shape a session runs for inputs of spatial ``shape`` (padded to what the
        network halves, see :meth:`__call__`)."""
        padded_shape = getattr(self.model, "padded_shape", None)
        return tuple(int(s) for s in (padded_shape(tuple(shape)) if padded_shape else shape))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Float32 logits ``(B, K, *spatial)`` on the CPU for ``x`` ``(B, C, *spatial)``."""
        from vqseg_core.models.padding import crop_padding, pad_to

        # Pad here, to the shape the network halves, and export only such shapes: a traced
        # pad + crop inside the graph came back wrong from ONNX Runtime (75 x 75 in, 5 x 5 out
        # on the ct-organs pair), and padded shapes need fewer exports.
        x, pads = pad_to(x, self.input_shape(tuple(x.shape[2:])))
        shape = tuple(int(s) for s in x.shape[1:])
        array = x.detach().to("cpu", torch.float32).contiguous().numpy()
        (logits,) = self.session(shape).run(["logits"], {"image": array})
        return crop_padding(torch.from_numpy(logits), pads)
