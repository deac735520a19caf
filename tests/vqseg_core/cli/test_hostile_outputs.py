"""Hostile output folders for every command: a read-only ``--out``, an ``--out`` that is a file
(or lies under one), a full disk, and a folder of the user's own files. Each gives one line
``PROG: error: ...`` naming the path (exit 2), and earlier outputs stay as they were.

The commands run in a subprocess with a time limit (:func:`isolated.run_command`). A read-only
folder is ``chmod 0o500`` for a normal user and a read-only tmpfs for root (where chmod does not
block); a full disk is a small tmpfs (root only; the in-process ENOSPC tests cover the rest).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from isolated import is_one_line_error, run_command

SMOKE = Path(__file__).parents[3] / "configs" / "smoke.yaml"
SHORT = [
    "--set", "schedule.steps=2", "--set", "schedule.val_every=2",
    "--set", "schedule.checkpoint_every=2", "--set", "logging.progress=false",
    "--set", "data.patch_size=[64,64]", "--set", "data.val_slices=['12:13']", "--device", "cpu",
]  # fmt: skip
TIMEOUT = 240.0


def _cmd(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", f"vqseg_core.cli.{module}", *args]


def _mount_tmpfs(folder: Path, options: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def readonly_dir(tmp_path: Path) -> Iterator[Path]:
    """An existing folder this process cannot write into."""
    folder = tmp_path / "readonly"
    if os.geteuid() != 0:
        folder.mkdir()
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
        return
    if not _mount_tmpfs(folder, "size=1m,ro"):
        pytest.skip("root without mount: chmod does not block root, no read-only tmpfs either")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 320 KiB tmpfs (root only)."""
    if os.geteuid() != 0:
        pytest.skip("a full disk needs a small tmpfs, which needs root (ENOSPC in-process below)")
    folder = tmp_path / "small"
    if not _mount_tmpfs(folder, "size=320k"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture
def noise(discs: Path, tiny_pair_files) -> list[str]:
    """``vqseg-eval noise`` on the discs, 2 levels, 1 draw (without ``--out``)."""
    return _cmd(
        "eval", "noise", str(discs), "--unet", str(tiny_pair_files["unet"]),
        "--vqunet", str(tiny_pair_files["vqunet"]), "--kinds", "gaussian", "--levels", "0", "20",
        "--draws", "1", "--split", "all", "--device", "cpu", "--precision", "fp32",
        "--no-progress",
    )  # fmt: skip


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ------------------------------------------------------------------------------ vqseg-eval


def test_eval_refuses_a_folder_of_the_users_files_and_leaves_them(noise, tmp_path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    for name in ("cases.csv", "settings.json", "table.md"):
        (out / name).write_text(f"my own {name}\n", encoding="utf-8")
    before = _files(out)
    done = run_command([*noise, "--out", str(out)], timeout=TIMEOUT)
    assert done.returncode == 2 and is_one_line_error(done.stderr, "vqseg-eval"), done.stderr
    assert "did not write" in done.stderr and "--overwrite" in done.stderr
    assert _files(out) == before
    done = run_command([*noise, "--out", str(out), "--overwrite"], timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert (out / "cases.csv").read_text(encoding="utf-8").startswith("dataset,")


def test_eval_resumes_its_own_folder_to_identical_tables(noise, tmp_path) -> None:
    out = tmp_path / "run"
    first = run_command([*noise, "--out", str(out)], timeout=TIMEOUT)
    assert first.returncode == 0, first.stderr
    before = {k: v for k, v in _files(out).items() if k != "settings.json"}
    again = run_command([*noise, "--out", str(out)], timeout=TIMEOUT)
    assert again.returncode == 0 and "0 of 6 cells computed" in again.stderr, again.stderr
    assert {k: v for k, v in _files(out).items() if k != "settings.json"} == before
    latent = [a if a != "noise" else "latent" for a in noise]
    other = run_command([*latent, "--out", str(out)], timeout=TIMEOUT)
    assert other.returncode == 2 and "output of vqseg-eval noise" in other.stderr
    assert {k: v for k, v in _files(out).items() if k != "settings.json"} == before


@pytest.mark.parametrize("where", ["file", "under a file"])
def test_eval_out_that_is_a_file_is_one_line(noise, tmp_path, where) -> None:
    file = tmp_path / "results.txt"
    file.write_text("keep me\n", encoding="utf-8")
    out = file if where == "file" else file / "sub"
    done = run_command([*noise, "--out", str(out)], timeout=TIMEOUT)
    assert done.returncode == 2 and is_one_line_error(done.stderr, "vqseg-eval"), done.stderr
    assert str(out) in done.stderr
    assert file.read_text(encoding="utf-8") == "keep me\n"


def test_eval_readonly_out_is_one_line(noise, readonly_dir) -> None:
    done = run_command([*noise, "--out", str(readonly_dir / "eval")], timeout=TIMEOUT)
    assert done.returncode == 2 and is_one_line_error(done.stderr, "vqseg-eval"), done.stderr
    assert str(readonly_dir) in done.stderr


def test_eval_full_disk_keeps_the_earlier_tables(noise, small_disk) -> None:
    out = small_disk / "eval"
    assert run_command([*noise, "--out", str(out)], timeout=TIMEOUT).returncode == 0
    before = (out / "cases.csv").read_bytes()
    free = os.statvfs(small_disk)
    filler = small_disk / "filler"
    with filler.open("wb") as fh:  # leave a few KiB: the new cells fit, the tables do not
        fh.write(b"\0" * max(0, free.f_bavail * free.f_frsize - 6 * 1024))
    more = [*noise[: noise.index("20") + 1], "30", *noise[noise.index("20") + 1 :]]
    done = run_command([*more, "--out", str(out)], timeout=TIMEOUT)
    assert done.returncode == 2 and is_one_line_error(done.stderr, "vqseg-eval"), done.stderr
    assert "No space left" in done.stderr and str(out) in done.stderr
    assert (out / "cases.csv").read_bytes() == before  # never 0 bytes


def test_eval_foreign_cells_line_names_file_and_line(noise, tmp_path) -> None:
    out = tmp_path / "cells"
    out.mkdir()
    (out / "cells.jsonl").write_text('{"key": "a", "records": []}\n[1, 2]\n', encoding="utf-8")
    done = run_command([*noise, "--out", str(out), "--overwrite"], timeout=TIMEOUT)
    assert done.returncode == 2 and is_one_line_error(done.stderr, "vqseg-eval"), done.stderr
    assert f"{out / 'cells.jsonl'}, line 2" in done.stderr


def test_eval_enospc_in_process_keeps_cases_csv(noise, tmp_path, full_disk, capsys) -> None:
    from vqseg_core.cli.eval import main

    out = tmp_path / "enospc"
    argv = [*noise[3:], "--out", str(out)]
    assert main(argv) == 0
    before = (out / "cases.csv").read_bytes()

    full_disk()
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cases.csv: No space left on device" in err
    assert (out / "cases.csv").read_bytes() == before
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


# ----------------------------------------------------------------------------- vqseg-train


@pytest.mark.parametrize("where", ["file", "under a file"])
def test_train_out_that_is_a_file_is_one_line(tmp_path, where) -> None:
    file = tmp_path / "run.txt"
    file.write_text("keep me\n", encoding="utf-8")
    out = file if where == "file" else file / "sub"
    done = run_command(_cmd("train", str(SMOKE), *SHORT, "--out", str(out)), timeout=TIMEOUT)
    assert done.returncode == 2 and is_one_line_error(done.stderr, "vqseg-train"), done.stderr
    assert str(out) in done.stderr and file.read_text(encoding="utf-8") == "keep me\n"


def test_train_readonly_out_is_one_line(readonly_dir) -> None:
    out = readonly_dir / "run"
    done = run_command(_cmd("train", str(SMOKE), *SHORT, "--out", str(out)), timeout=TIMEOUT)
    assert done.returncode == 2 and is_one_line_error(done.stderr, "vqseg-train"), done.stderr
    assert str(readonly_dir) in done.stderr


def test_train_full_disk_is_one_line_and_says_resume(small_disk) -> None:
    out = small_disk / "run"
    done = run_command(_cmd("train", str(SMOKE), *SHORT, "--out", str(out)), timeout=TIMEOUT)
    assert done.returncode == 2 and is_one_line_error(done.stderr, "vqseg-train"), done.stderr
    assert "No space left" in done.stderr and "--resume" in done.stderr
    assert "name: smoke" in (out / "config.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "override", ["optim.batch_size=1.5", "schedule.val_every=0", "logging.export_dtype=f64"]
)
def test_train_bad_value_is_one_line_before_any_work(tmp_path, override) -> None:
    out = tmp_path / "run"
    argv = _cmd("train", str(SMOKE), *SHORT, "--set", override, "--out", str(out))
    done = run_command(argv, timeout=TIMEOUT)
    assert done.returncode == 2 and is_one_line_error(done.stderr, "vqseg-train"), done.stderr
    assert override.split("=")[0] in done.stderr and not out.exists()
    debug = run_command([*argv, "--debug"], timeout=TIMEOUT)
    assert debug.returncode != 0 and "Traceback (most recent call last)" in debug.stderr


# ------------------------------------------------------------------ vqseg-data, vqseg-study


def test_data_out_that_is_a_file_or_readonly_is_one_line(tmp_path, readonly_dir) -> None:
    file = tmp_path / "data.txt"
    file.write_text("keep me\n", encoding="utf-8")
    for out in (file, file / "sub", readonly_dir / "ds"):
        argv = _cmd("data", "prepare", "ct-organs", "--quiet", "--size", "32", "--out", str(out))
        done = run_command(argv, timeout=TIMEOUT)
        assert done.returncode == 2 and is_one_line_error(done.stderr, "vqseg-data"), done.stderr
        assert str(out) in done.stderr
    assert file.read_text(encoding="utf-8") == "keep me\n"


def test_study_out_that_is_a_file_or_readonly_is_one_line(tmp_path, readonly_dir) -> None:
    study = tmp_path / "study.yaml"
    study.write_text(
        f"name: tiny\nbase: {SMOKE}\nseeds: [1]\nset:\n  schedule.steps: 2\n"
        "  logging.progress: false\nreference: unet\nheadline: lungs\n"
        "arms:\n  unet:\n    label: UNet\n    set: {model.kind: unet}\n",
        encoding="utf-8",
    )
    file = tmp_path / "study.txt"
    file.write_text("keep me\n", encoding="utf-8")
    for out in (file, readonly_dir / "study"):
        argv = _cmd("study", "train", str(study), "--out", str(out), "--device", "cpu")
        done = run_command(argv, timeout=TIMEOUT)
        assert done.returncode == 2 and is_one_line_error(done.stderr, "vqseg-study"), done.stderr
        assert str(out) in done.stderr or str(readonly_dir) in done.stderr
    assert file.read_text(encoding="utf-8") == "keep me\n"


def test_eval_report_and_seeds_refuse_the_users_files(tmp_path, capsys) -> None:
    from vqseg_core.cli.eval import main

    page = tmp_path / "page.html"
    page.write_text("<html>my page</html>", encoding="utf-8")
    assert main(["report", str(tmp_path), "--out", str(page)]) == 2
    assert "not a vqseg-eval report" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert page.read_text(encoding="utf-8") == "<html>my page</html>"
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "seeds.md").write_text("my notes\n", encoding="utf-8")
    assert main(["seeds", "--noise", f"vqunet:1:{tmp_path}", "--out", str(folder)]) == 2
    assert "did not write (seeds.md)" in capsys.readouterr().err
    assert (folder / "seeds.md").read_text(encoding="utf-8") == "my notes\n"
