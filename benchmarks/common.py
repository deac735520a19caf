"""Small helpers shared by the benchmarks: medians after warm-up, results, machine info.

Every benchmark module ``benchmarks/bNN_<name>.py`` exposes ``ID = "BNN"`` and
``run(quick: bool) -> dict``; :func:`result` builds that dict. ``benchmarks/run.py`` runs each
module in a fresh process and collects the dicts.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vqseg_core.reporting import versions

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("torch", "monai", "napari", "numpy", "napari-vqseg")


def median_seconds(
    fn: Callable[[], Any], repeats: int, warmup: int = 1
) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def interleaved_medians(
    fns: dict[str, Callable[[], Any]], repeats: int, warmup: int = 1
) -> dict[str, dict[str, Any]]:
    """Time several variants side by side: warm each up, then alternate them ``repeats`` times.

    Alternating (A, B, A, B, ...) spreads the load of other jobs on a shared machine over all
    variants instead of letting it fall on one. Returns ``{name: {"median_s", "times_s"}}``.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {
        name: {"median_s": statistics.median(ts), "times_s": [round(t, 5) for t in ts]}
        for name, ts in times.items()
    }


def result(
    id: str,
    what: str,
    baseline: str,
    ratio: float,
    target: float,
    accuracy: dict[str, Any],
    details: dict[str, Any],
    *,
    cmp: str = ">=",
    unit: str = "x",
) -> dict[str, Any]:
    """The dict every ``run()`` returns; ``met`` needs the target reached AND accuracy ok.

    ``cmp`` is ``">="`` (a speed-up, ``unit="x"``) or ``"<="`` (e.g. seconds added, ``unit="s"``).
    """
    reached = ratio >= target if cmp == ">=" else ratio <= target
    return {
        "id": id,
        "what": what,
        "baseline": baseline,
        "ratio": float(ratio),
        "target": float(target),
        "cmp": cmp,
        "unit": unit,
        "met": bool(reached and accuracy.get("ok", False)),
        "speed_met": bool(reached),
        "accuracy": accuracy,
        "details": details,
    }


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (or what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The CPU flags that matter for bf16 on CPU (AVX-512, AMX)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = line.split(":", 1)[1].split()
            return sorted(f for f in flags if f.startswith(("avx512_bf16", "amx", "avx512f")))
    return []


def machine_info() -> dict[str, Any]:
    """Platform, CPU, cores, load, package versions (no torch import: the runner calls this)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "load_avg_1_5_15": list(load) if load else None,
        "device": "cpu",
        "packages": versions(PACKAGES),
    }


def torch_info() -> dict[str, Any]:
    """Threads, CPU capability and device as torch sees them (for a benchmark's details)."""
    import torch

    return {
        "threads": torch.get_num_threads(),
        "capability": torch.backends.cpu.get_cpu_capability(),
        "cuda": torch.cuda.is_available(),
    }


def chest_xray() -> tuple[Any, Any, tuple[float, ...]]:
    """The bundled 512 x 512 chest X-ray sample: ``(image, lung mask, spacing)``."""
    from vqseg_core.data.samples import get_sample
    from vqseg_core.io import load_image

    sample = get_sample("chest-xray")
    image = load_image(sample.image)
    labels = load_image(sample.labels) if sample.labels is not None else None
    return image.array, None if labels is None else labels.array, tuple(image.spacing)


def torch_profile(fn: Callable[[], Any], rows: int = 12) -> list[dict[str, Any]]:
    """Top CPU ops of one call of ``fn`` (torch.profiler), as JSON-able rows."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    return [
        {
            "op": e.key,
            "calls": e.count,
            "self_ms": round(e.self_cpu_time_total / 1000, 2),
            "share": round(e.self_cpu_time_total / total, 3),
        }
        for e in events[:rows]
    ]


def cprofile_top(fn: Callable[[], Any], rows: int = 12, match: str = "") -> list[dict[str, Any]]:
    """Top functions by cumulative time of one call of ``fn`` (cProfile), as JSON-able rows.

    ``match``: keep only functions whose file path contains it (e.g. ``"vqseg_core"``).
    """
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    stats = pstats.Stats(prof)
    items = sorted(stats.stats.items(), key=lambda kv: kv[1][3], reverse=True)  # type: ignore[attr-defined]
    items = [kv for kv in items if match in kv[0][0]]
    out = []
    for (file, line, name), (_cc, ncalls, _tt, cum, _callers) in items[:rows]:
        where = f"{Path(file).name}:{line}" if file != "~" else "builtin"
        out.append({"function": f"{where}({name})", "calls": ncalls, "cum_s": round(cum, 4)})
    return out
