"""The thread policy: free cores now, at least one, restored afterwards; jobs share the cores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from vqseg_core import threads


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(threads.ENV, raising=False)
    monkeypatch.setattr(threads, "BUSY_TTL", 0.0)  # every call reads the (patched) count
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)


def _proc(root: Path, pid: int, state: str, nice: int, tasks: tuple[str, ...] = ()) -> None:
    """A fake ``/proc/PID`` with a ``stat`` line (fields as Linux writes them)."""
    rest = [state] + ["0"] * 15 + [str(nice)] + ["0"] * 10
    d = root / str(pid)
    d.mkdir(parents=True)
    (d / "stat").write_text(f"{pid} (py thon) {' '.join(rest)}\n")
    for i, t in enumerate(tasks):
        td = d / "task" / str(pid + i)
        td.mkdir(parents=True)
        trest = [t] + ["0"] * 15 + [str(nice)] + ["0"] * 10
        (td / "stat").write_text(f"{pid + i} (worker) {' '.join(trest)}\n")


def test_busy_processes_counts_running_processes_at_normal_priority(tmp_path: Path) -> None:
    (tmp_path / "self").mkdir()
    _proc(tmp_path, 10, "R", 0)  # a busy process: counts
    _proc(tmp_path, 11, "S", 0)  # sleeping: no
    _proc(tmp_path, 12, "R", 10)  # niced background training: no
    _proc(tmp_path, 13, "S", 0, tasks=("S", "R"))  # a busy worker thread: counts
    _proc(tmp_path, os.getpid(), "R", 0)  # this process: never
    (tmp_path / "cpuinfo").write_text("")
    assert threads.busy_processes(tmp_path) == 2
    assert threads.busy_processes(tmp_path / "missing") is None


def test_real_proc_is_read_quickly() -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc on this platform")
    busy = threads.busy_processes()
    assert busy is not None and busy >= 0


def test_worker_threads_gives_the_free_cores_and_at_least_one(monkeypatch) -> None:
    assert threads.worker_threads(busy=0, cores=2) == 2
    assert threads.worker_threads(busy=1, cores=2) == 1
    assert threads.worker_threads(busy=5, cores=2) == 1
    assert threads.worker_threads(reserve=1, busy=1, cores=8) == 6
    monkeypatch.setenv(threads.ENV, "3")
    assert threads.worker_threads(busy=5, cores=2) == 3


def test_inference_threads_sets_and_restores_torch_threads() -> None:
    before = torch.get_num_threads()
    with threads.inference_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with threads.inference_threads() as n:
        assert n >= 1 and torch.get_num_threads() == n
    assert torch.get_num_threads() == before


def test_jobs_share_the_free_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "available_cores", lambda: 16)
    monkeypatch.setattr(threads, "busy_processes", lambda: 1)  # the sibling job, running
    assert threads.job_threads(2) == 8
    monkeypatch.setattr(threads, "busy_processes", lambda: 5)  # 4 other busy processes
    assert threads.job_threads(2) == 6
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    assert threads.job_threads(4) == 1


def test_apply_job_threads_leaves_a_users_omp_num_threads(monkeypatch) -> None:
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "3")
        monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
        assert threads.apply_job_threads(2) is None
        monkeypatch.setenv("OMP_NUM_THREADS", "1")  # torchrun's default: replaced
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
        monkeypatch.setattr(threads, "available_cores", lambda: 4)
        monkeypatch.setattr(threads, "busy_processes", lambda: 0)
        assert threads.apply_job_threads(2) == 2 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_sessions_get_every_core_unless_a_count_is_given(monkeypatch) -> None:
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    monkeypatch.setattr(threads, "busy_processes", lambda: 1)
    with threads.inference_threads() as n:
        assert n == 3 and threads.session_threads() == 4  # torch: free cores; ORT: all
    with threads.inference_threads(2):
        assert threads.session_threads() == 2
    with threads.inference_threads(reserve=1):
        assert threads.session_threads() == 3
    assert threads.session_threads() == torch.get_num_threads()


def test_a_passive_wait_policy_uses_every_core(monkeypatch: pytest.MonkeyPatch) -> None:
    assert threads.prefer_passive_wait() is False  # torch is imported: too late to ask
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    monkeypatch.setattr(threads, "busy_processes", lambda: 2)
    assert threads.worker_threads() == 2
    monkeypatch.setenv("OMP_WAIT_POLICY", "passive")
    assert threads.passive_wait() and threads.worker_threads() == 4
    assert threads.worker_threads(reserve=1) == 3


def test_the_plugin_asks_for_a_passive_wait_before_torch_starts() -> None:
    import subprocess
    import sys

    code = (
        "import os, sys; os.environ.pop('OMP_WAIT_POLICY', None); import napari_vqseg; "
        "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["PASSIVE", "False"]
