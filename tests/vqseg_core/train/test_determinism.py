"""Bit-exact CPU training at a fixed thread count under machine load (issue #16, item 7).

The operation that made two 2-thread runs differ: the backward pass of the quantiser's codebook
lookup (``index_put_`` with ``accumulate=True``), which torch parallelises with atomic float
additions. The runs below use ``configs/smoke.yaml`` shortened by ``--set`` (its bottleneck is
large enough for that parallel path), two intra-op threads, and a CPU-burning process beside.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from vqseg_core.checkpoint import load_checkpoint
from vqseg_core.train import determinism
from vqseg_core.train.loop import CHECKPOINT

from ._synthetic import log_lines

ROOT = Path(__file__).resolve().parents[3]
STEPS = 6
SMOKE = (
    str(ROOT / "configs" / "smoke.yaml"), "--device", "cpu",
    "--set", f"schedule.steps={STEPS}", "--set", f"schedule.val_every={STEPS}",
    "--set", "schedule.checkpoint_every=2", "--set", "logging.progress=false",
    # 96 x 96 crops: 2 x 24 x 24 bottleneck latents x 32 values = 36864 >= 32768, the size from
    # which torch runs the codebook lookup's backward in parallel; two validation slices
    "--set", "data.patch_size=[96, 96]", "--set", 'data.val_slices=["12:14"]',
)  # fmt: skip
THREADS = {
    "OMP_NUM_THREADS": "2",
    "MKL_NUM_THREADS": "2",
    "OMP_WAIT_POLICY": "PASSIVE",  # waiting threads sleep: much faster beside other processes
    "PYTHONHASHSEED": "0",
}


def _codebook_grad(codebook: torch.Tensor, indices: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    codebook.grad = None
    (codebook[indices] * up).sum().backward()
    assert codebook.grad is not None
    return codebook.grad.clone()


def test_the_codebook_lookup_backward_is_exact_at_two_threads() -> None:
    """The operation found: 65536 elements accumulated into a 64 x 32 gradient, repeated."""
    g = torch.Generator().manual_seed(0)
    codebook = torch.randn(64, 32, generator=g, requires_grad=True)
    indices = torch.randint(64, (2048,), generator=g)
    up = torch.randn(2048, 32, generator=g)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with determinism.cpu_reproducible("cpu"):
            assert torch.are_deterministic_algorithms_enabled()
            first = _codebook_grad(codebook, indices, up)
            assert all(torch.equal(first, _codebook_grad(codebook, indices, up)) for _ in range(20))
    finally:
        torch.set_num_threads(threads)
    assert not torch.are_deterministic_algorithms_enabled()  # restored


def test_cpu_reproducible_leaves_other_devices_and_an_enabled_mode_alone() -> None:
    with determinism.cpu_reproducible("cuda"):
        assert not torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with determinism.cpu_reproducible("cpu"):
            assert not torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.are_deterministic_algorithms_enabled()  # not switched off on exit
    finally:
        torch.use_deterministic_algorithms(False)


def test_enable_sets_every_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    benchmark, cudnn_det = torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic
    try:
        determinism.enable()
        assert determinism.is_enabled()
        assert not torch.is_deterministic_algorithms_warn_only_enabled()
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == determinism.CUBLAS_WORKSPACE
        assert not torch.backends.cudnn.benchmark and torch.backends.cudnn.deterministic
    finally:
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = benchmark, cudnn_det


# --- whole runs: the reference in this process, the others in subprocesses (two threads) -----


def _main(out: Path, *extra: str) -> None:
    """``vqseg-train SMOKE --out OUT EXTRA`` in this process, on two intra-op threads; the
    process-wide switches ``--deterministic`` turns on are restored afterwards."""
    from vqseg_core.train.command import main

    cudnn = torch.backends.cudnn
    saved = (torch.get_num_threads(), cudnn.benchmark, cudnn.deterministic)
    torch.set_num_threads(2)
    try:
        assert main([*SMOKE, "--out", str(out), *extra]) == 0
    finally:
        torch.use_deterministic_algorithms(False)
        torch.set_num_threads(saved[0])
        cudnn.benchmark, cudnn.deterministic = saved[1], saved[2]


def _launch(out: Path, *extra: str) -> subprocess.Popen:
    """``vqseg-train SMOKE --out OUT EXTRA`` in a subprocess on two threads that sleep while
    they wait (beside a busy process, torch's spinning threads are several times slower)."""
    return subprocess.Popen(
        [sys.executable, "-m", "vqseg_core.train", *SMOKE, "--out", str(out), *extra],
        env={**os.environ, **THREADS}, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def _run(out: Path, *extra: str) -> None:
    """:func:`_launch`, waited for; it must succeed."""
    proc = _launch(out, *extra)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-3000:]


@pytest.fixture
def busy() -> Iterator[None]:
    """A process that burns one core while the test runs (the machine under load)."""
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        burner.kill()
        burner.wait()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted ``--deterministic`` two-thread smoke run (no load added)."""
    out = tmp_path_factory.mktemp("determinism") / "reference"
    _main(out, "--deterministic")
    return out


def _assert_same_run(out: Path, reference: Path) -> None:
    """Every log line (loss values as written, validation Dice) and the final weights."""
    assert log_lines(out) == log_lines(reference) and len(log_lines(out)) == STEPS
    assert log_lines(out, "val") == log_lines(reference, "val")
    assert (out / "log.jsonl").read_bytes() == (reference / "log.jsonl").read_bytes()
    final, expected = load_checkpoint(out / CHECKPOINT), load_checkpoint(reference / CHECKPOINT)
    assert final["step"] == expected["step"] == STEPS
    assert all(torch.equal(final["model"][k], expected["model"][k]) for k in expected["model"])


@pytest.mark.slow
def test_two_deterministic_runs_one_beside_a_busy_process_write_the_same_log(
    reference: Path, tmp_path: Path, busy: None
) -> None:
    _run(tmp_path / "loaded", "--deterministic")
    _assert_same_run(tmp_path / "loaded", reference)


@pytest.mark.slow
def test_a_default_run_under_load_is_the_same_as_a_deterministic_one(
    reference: Path, tmp_path: Path, busy: None
) -> None:
    """Without ``--deterministic`` a CPU run uses the same kernels (``cpu_reproducible``)."""
    _run(tmp_path / "default")
    _assert_same_run(tmp_path / "default", reference)


def _train_lines(log: Path) -> int:
    try:
        return log.read_text(encoding="utf-8").count('"type": "train"')
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_sigkill_and_resume_under_load_reproduce_the_run(
    reference: Path, tmp_path: Path, busy: None
) -> None:
    """Killed (SIGKILL) after step 3 or 4, then resumed."""
    out = tmp_path / "killed"
    proc = _launch(out, "--deterministic")
    deadline = time.monotonic() + 300
    while proc.poll() is None and _train_lines(out / "log.jsonl") < 3:
        assert time.monotonic() < deadline, "training subprocess made no progress"
        time.sleep(0.002)
    assert proc.poll() is None, f"the run ended before it was killed: {proc.communicate()[1]!r}"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert load_checkpoint(out / CHECKPOINT)["step"] in (2, 4)  # steps after it are redone
    _run(out, "--deterministic", "--resume")
    _assert_same_run(out, reference)
