"""Reproducible training: which torch switches make two runs write the same bits.

What made two CPU runs differ (issue #16, item 7): the backward pass of the quantiser's
codebook lookup ``codebook[indices]`` is ``index_put_(..., accumulate=True)``. On CPU, with more
than one intra-op thread and at least 32768 elements (``at::internal::GRAIN_SIZE``; the smoke
config's bottleneck has 2 x 32 x 32 latents of 32 values = 65536), torch runs it in parallel
with *atomic* float additions into the codebook gradient, so the order of the additions, and
with it the rounding, depends on how the threads happen to interleave: on a loaded machine the
codebook gradient differed in 162 of 200 repeats of one backward pass, and two smoke runs
differed from step 6 on. Every other CPU operation of a training step (convolutions in oneDNN,
GroupNorm, the loss's sums, MKL matrix products) splits its work by the number of threads, not
by their timing, so it gives the same bits at a fixed thread count whatever the load.
``torch.use_deterministic_algorithms(True)`` makes ``index_put_`` accumulate serially (same
speed here: 24 ms vs 38 ms for the isolated backward on the loaded 2-core machine).

Two levels:

* :func:`cpu_reproducible` (every CPU run, used by :func:`vqseg_core.train.loop.train`):
  deterministic algorithms on for the duration of the run, in ``warn_only`` mode (an operation
  without a deterministic CPU kernel warns instead of failing), restored afterwards.
* :func:`enable` (``vqseg-train --deterministic``, for the whole process): deterministic
  algorithms that *fail* on an operation without a deterministic kernel, cuDNN without
  benchmarking and with deterministic algorithms, and ``CUBLAS_WORKSPACE_CONFIG`` set (it must
  be set before the first cuBLAS call, so call :func:`enable` before training starts).

What is then promised: on CPU, two runs of one config on the same data with the same number of
intra-op threads (``OMP_NUM_THREADS`` / ``torch.set_num_threads``), the same torch build and
the same CPU instruction set write the same ``log.jsonl`` and weights bit for bit, under any
machine load and across SIGKILL + ``--resume``. Runs with *different* thread counts differ in
the last digits (reductions are split by thread count). On CUDA the same holds only with
``--deterministic`` (same GPU model, driver and torch build).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch

CUBLAS_WORKSPACE = ":4096:8"
"""``CUBLAS_WORKSPACE_CONFIG`` for deterministic cuBLAS (CUDA >= 10.2)."""


def enable(*, warn_only: bool = False) -> None:
    """Make this process's torch use deterministic algorithms only (``--deterministic``).

    Sets ``CUBLAS_WORKSPACE_CONFIG`` (unless already set), turns on
    ``torch.use_deterministic_algorithms`` (an operation without a deterministic kernel raises
    ``RuntimeError``, unless ``warn_only``), and turns cuDNN benchmarking off and its
    deterministic mode on. Call it before the first CUDA operation.

    Args:
        warn_only: warn instead of raising on an operation without a deterministic kernel.
    """
    if "CUBLAS_WORKSPACE_CONFIG" not in os.environ:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            warnings.warn(
                "deterministic mode enabled after CUDA was initialised: cuBLAS may ignore "
                "CUBLAS_WORKSPACE_CONFIG; set it in the environment instead",
                RuntimeWarning,
                stacklevel=2,
            )
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def is_enabled() -> bool:
    """Whether deterministic algorithms are on in this process (e.g. by :func:`enable`)."""
    return torch.are_deterministic_algorithms_enabled()


@contextmanager
def cpu_reproducible(device_type: str) -> Iterator[None]:
    """Deterministic CPU kernels for the duration of a training run on ``device_type``.

    On CPU: ``torch.use_deterministic_algorithms(True, warn_only=True)`` inside, the previous
    setting restored on exit; uninitialised memory is not filled (a cost without a use here).
    Elsewhere, or when deterministic algorithms are already on (``--deterministic``): nothing.
    """
    if device_type != "cpu" or torch.are_deterministic_algorithms_enabled():
        yield
        return
    import torch.utils.deterministic as det

    fill = det.fill_uninitialized_memory
    torch.use_deterministic_algorithms(True, warn_only=True)
    det.fill_uninitialized_memory = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(False)
        det.fill_uninitialized_memory = fill
