"""Hostile config values: refused before any work, each error naming the key and the value;
the run lock names its file and sees through a reused pid."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vqseg_core.train.config import apply_overrides, config_from_dict, load_config
from vqseg_core.train.run_guard import RunExistsError, RunLock, check_out_folder

SMOKE = Path(__file__).parents[3] / "configs" / "smoke.yaml"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("optim.batch_size=1.5", ["optim.batch_size", "1.5"]),
        ("schedule.val_every=0", ["schedule.val_every", "0"]),
        ("schedule.checkpoint_every=0", ["schedule.checkpoint_every", "0"]),
        ("optim.lr=1e12", ["optim.lr", "1000000000000.0"]),
        ("optim.lr=abc", ["optim.lr", "'abc'"]),
        ("model.codebook_size=1000000000", ["model.codebook_size", "1000000000"]),
        ("model.out_channels=1", ["model.out_channels", "1"]),
        ("model.out_channels=3", ["model.out_channels", "largest label"]),
        ("schedule.steps=2.5", ["schedule.steps", "2.5"]),
        ("logging.export_dtype=float64", ["logging.export_dtype", "'float64'"]),
        ("logging.progress=maybe", ["logging.progress", "'maybe'"]),
        ("optim=[1,2]", ["'optim'", "[1, 2]"]),
        ("seed=-1", ["seed", "-1"]),
        ("name=a/b", ["name", "'a/b'"]),
        ("data.split=bogus", ["data.split", "'bogus'"]),
        ("data.augment=[bogus]", ["data.augment", "bogus"]),
        ("data.val_fraction=2", ["data.val_fraction", "2"]),
        ("data.patch_size=[64,64,64]", ["data.patch_size", "(64, 64, 64)"]),
        ("model.channels=[8.5,16]", ["model.channels", "8.5"]),
        ("model.norm_groups=3", ["norm_groups=3"]),
        ("schedule.checkpoint_minutes=-1", ["schedule.checkpoint_minutes", "-1"]),
        (f"seed={'9' * 5000}", ["seed"]),
    ],
)
def test_a_bad_value_is_refused_naming_key_and_value(override: str, named: list[str]) -> None:
    with pytest.raises(ValueError) as exc:
        load_config(SMOKE, [override])
    message = str(exc.value)
    assert str(SMOKE) in message or message.startswith("override")
    for part in named:
        assert part in message, (part, message)
    assert "\n" not in message and len(message) < 400


@pytest.mark.parametrize("item", ["=abc", " =abc", "optim.=3", ".lr=3", "a.b.c=1", "novalue"])
def test_a_malformed_override_is_refused_naming_it(item: str) -> None:
    with pytest.raises(ValueError, match="override"):
        apply_overrides({}, [item])


def test_a_section_given_as_a_list_names_the_section() -> None:
    with pytest.raises(ValueError, match="'schedule' must be a mapping"):
        config_from_dict({"schedule": [1, 2]})


def test_a_config_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="mapping of sections"):
        load_config(path)


def test_whole_numbers_written_as_floats_stay_accepted() -> None:
    config = load_config(SMOKE, ["schedule.steps=40.0", "optim.lr=3e-4"])
    assert config.schedule.steps == 40 and isinstance(config.schedule.steps, int)
    assert config.optim.lr == pytest.approx(3e-4)


def test_the_shipped_smoke_config_loads() -> None:
    assert load_config(SMOKE).name == "smoke"


def test_an_out_that_is_a_file_or_under_one_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "f"
    file.write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="is a file"):
        check_out_folder(file)
    with pytest.raises(ValueError, match="lies under a file"):
        check_out_folder(file / "sub" / "run")
    check_out_folder(tmp_path / "new" / "run")  # a new folder is fine


def test_a_live_holder_is_named_with_the_lock_file(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.2)
        (tmp_path / ".lock").write_text(str(sleeper.pid), encoding="utf-8")
        with pytest.raises(RunExistsError) as exc:
            RunLock(tmp_path)
        assert str(tmp_path / ".lock") in str(exc.value) and "delete" in str(exc.value)
        assert (tmp_path / ".lock").read_text(encoding="utf-8") == str(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc start times")
def test_a_lock_whose_pid_was_reused_by_a_later_process_is_stale(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock.write_text(str(sleeper.pid), encoding="utf-8")
        old = time.time() - 3600  # written an hour before the live process started
        os.utime(lock, (old, old))
        held = RunLock(tmp_path)
        assert lock.read_text(encoding="utf-8") == str(os.getpid())
        held.release()
        assert not lock.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
