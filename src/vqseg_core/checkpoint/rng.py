"""RNG states as tensors, so that they load under ``weights_only=True``.

``np.random.get_state()`` and ``random.getstate()`` return tuples holding numpy arrays or long
tuples; a numpy array does not load under the safe default. :func:`rng_state` encodes every
state as plain tensors (exactly, bit for bit) and :func:`set_rng_state` decodes them.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

# NPY002 is silenced below: the legacy *global* numpy state is exactly what must be captured.
_NUMPY_KEYS = ("numpy_key", "numpy_pos", "numpy_gauss")
_PYTHON_KEYS = ("python_state", "python_gauss")


def rng_state() -> dict[str, torch.Tensor]:
    """Capture the global random states of torch, CUDA, numpy and Python as tensors.

    Returns:
        ``torch_cpu``: uint8 ``(N,)`` torch CPU generator state;
        ``torch_cuda``: uint8 ``(num_devices, N)``, only when CUDA is available;
        ``numpy_key``: int64 ``(624,)`` MT19937 key of numpy's global generator;
        ``numpy_pos``: int64 ``(2,)`` = (position, has_gauss);
        ``numpy_gauss``: float64 ``()`` cached Gaussian;
        ``python_state``: int64 ``(626,)`` = (version, 624 MT words, position) of ``random``;
        ``python_gauss``: float64 ``(2,)`` = (has cached Gaussian, its value).
    """
    state: dict[str, torch.Tensor] = {"torch_cpu": torch.get_rng_state().clone()}
    if torch.cuda.is_available():
        state["torch_cuda"] = torch.stack([s.cpu() for s in torch.cuda.get_rng_state_all()])
    name, key, pos, has_gauss, gauss = np.random.get_state(legacy=True)  # noqa: NPY002
    if name != "MT19937":  # pragma: no cover - numpy's global generator is always MT19937
        raise ValueError(f"cannot encode numpy bit generator {name!r}")
    state["numpy_key"] = torch.from_numpy(np.asarray(key, dtype=np.int64).copy())
    state["numpy_pos"] = torch.tensor([int(pos), int(has_gauss)], dtype=torch.int64)
    state["numpy_gauss"] = torch.tensor(float(gauss), dtype=torch.float64)
    version, words, gauss_next = random.getstate()
    state["python_state"] = torch.tensor([version, *words], dtype=torch.int64)
    state["python_gauss"] = torch.tensor(
        [0.0 if gauss_next is None else 1.0, 0.0 if gauss_next is None else gauss_next],
        dtype=torch.float64,
    )
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the random states captured by :func:`rng_state`.

    Groups absent from ``state`` are left alone. CUDA states are restored on the devices present
    (``min(saved, available)`` of them) and ignored without CUDA.

    Args:
        state: the dict returned by :func:`rng_state` (e.g. after a checkpoint round trip).

    Raises:
        ValueError: a group is incomplete or has the wrong shape.
    """
    if "torch_cpu" in state:
        torch.set_rng_state(_tensor(state, "torch_cpu").to("cpu", torch.uint8))
    if "torch_cuda" in state and torch.cuda.is_available():
        saved = _tensor(state, "torch_cuda").to("cpu", torch.uint8)
        for device in range(min(saved.shape[0], torch.cuda.device_count())):
            torch.cuda.set_rng_state(saved[device], device)
    if any(k in state for k in _NUMPY_KEYS):
        key = _tensor(state, "numpy_key")
        pos, has_gauss = (int(v) for v in _tensor(state, "numpy_pos", (2,)).tolist())
        gauss = float(_tensor(state, "numpy_gauss", ()).item())
        if key.shape != (624,):
            raise ValueError(f"numpy_key must have shape (624,), got {tuple(key.shape)}")
        legacy = ("MT19937", key.numpy().astype(np.uint32), pos, has_gauss, gauss)
        np.random.set_state(legacy)  # noqa: NPY002
    if any(k in state for k in _PYTHON_KEYS):
        values = [int(v) for v in _tensor(state, "python_state", (626,)).tolist()]
        has, value = _tensor(state, "python_gauss", (2,)).tolist()
        random.setstate((values[0], tuple(values[1:]), value if has else None))


def _tensor(state: dict[str, Any], key: str, shape: tuple[int, ...] | None = None) -> torch.Tensor:
    if key not in state or not isinstance(state[key], torch.Tensor):
        raise ValueError(f"RNG state {key!r} is missing or not a tensor")
    value = state[key].detach().cpu()
    if shape is not None and tuple(value.shape) != shape:
        raise ValueError(f"RNG state {key!r} must have shape {shape}, got {tuple(value.shape)}")
    return value
