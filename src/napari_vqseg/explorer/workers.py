"""What the explorer's worker threads run (Qt-free): analysis, level sweeps, pair loading.

Each returns ``("ok", value)``, ``("cancelled", None)`` or ``("error", exc)`` so that a worker
never raises into napari's thread machinery; the widget shows errors as notifications.
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from typing import Any

import numpy as np

from napari_vqseg.explorer.state import ExplorerSettings


def guarded(fn: Any) -> Any:
    """Run ``fn`` in a worker: ``("ok", value)``, ``("cancelled", None)`` or ``("error", exc)``."""

    @functools.wraps(fn)
    def run(*args: Any) -> tuple[str, Any]:
        from vqseg_core.robustness import Cancelled

        try:
            return "ok", fn(*args)
        except Cancelled:
            return "cancelled", None
        except Exception as err:  # reported in the GUI, never a crash
            return "error", err

    return run


def analyse(
    pair: Any, array: np.ndarray, spacing: tuple, s: ExplorerSettings, gt: Any, focus: Any,
    cancel: Any,
) -> Generator[Any, None, tuple[str, Any]]:  # fmt: skip
    """The worker: yields each model's partial volume mask, returns like :func:`guarded`."""
    from vqseg_core.robustness import Cancelled, iter_analyse

    try:
        view = yield from iter_analyse(
            pair, array, spacing, kind=s.kind, level=s.level, seed=s.seed, n_draws=s.n_draws,
            ground_truth=gt, device=s.device, cancel=cancel, focus=focus,
        )  # fmt: skip
    except Cancelled:
        return "cancelled", None
    except Exception as err:  # reported in the GUI, never a crash
        return "error", err
    return "ok", view


@guarded
def sweep(pair: Any, array: np.ndarray, spacing: tuple, s: ExplorerSettings, gt: Any,
           levels: tuple, cancel: Any, progress: Any) -> Any:  # fmt: skip
    from vqseg_core.robustness import level_sweep

    return level_sweep(pair, array, spacing, s.kind, levels, s.seed, s.n_draws, gt, cancel, progress,
                       device=s.device)  # fmt: skip


@guarded
def load_pair(key: Any) -> Any:
    from vqseg_core.pretrained import load_pair, load_pair_from_files

    if isinstance(key, tuple):
        return load_pair_from_files(*key)
    return load_pair(key)
