"""Checkpoints: safe loading, integrity, atomic saves, config and state-dict checks."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import random
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from vqseg_core.checkpoint import (
    FORMAT_VERSION,
    HEADER_SIZE,
    MAGIC,
    CheckpointError,
    ConfigMismatchError,
    UnsupportedValueError,
    check_config_compatible,
    load_checkpoint,
    load_state_dict_strict,
    save_checkpoint,
)
from vqseg_core.models import VQUNet

SRC = Path(__file__).parents[2] / "src"


def small_model() -> VQUNet:
    torch.manual_seed(0)
    return VQUNet(2, 1, 2, channels=(8, 16), codebook_size=16, codebook_dim=8, norm_groups=4)


def training_state() -> dict:
    """A real resume checkpoint: model, Adam state after one step, an RNG state, config, metrics."""
    model = small_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    out = model.forward_with_aux(torch.randn(2, 1, 16, 16))
    (out.logits.mean() + out.vq.loss).backward()
    optimizer.step()
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": {"torch_cpu": torch.get_rng_state()},
        "step": 1,
        "metrics": {"loss": 0.5, "dice": [0.25, 0.75], "best": None},
        "config": {"model": {"kind": "vqunet", "channels": [8, 16]}, "data": {"root": "x"}},
        "flags": (True, False),
    }


def assert_same(a: object, b: object, where: str = "state") -> None:
    """Exact equality, recursing into containers; tensors by dtype, shape and torch.equal."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), where
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert type(a) is type(b) and a == b, where


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, bytes]:
    """The training state and the bytes of its checkpoint file."""
    state = training_state()
    path = tmp_path_factory.mktemp("ckpt") / "good.ckpt"
    save_checkpoint(path, state)
    return state, path.read_bytes()


def rejected(path: Path) -> CheckpointError:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    return info.value


# --- round trip and format -------------------------------------------------------------------


def test_round_trip_is_exact(tmp_path: Path, saved: tuple[dict, bytes]) -> None:
    state, _ = saved
    path = tmp_path / "a.ckpt"
    digest = save_checkpoint(path, state)
    loaded = load_checkpoint(path, expected_keys=state.keys())
    assert_same(state, loaded)
    assert digest == hashlib.sha256(path.read_bytes()[HEADER_SIZE:]).hexdigest()


def test_file_layout_is_header_then_plain_safe_torch_payload(saved: tuple[dict, bytes]) -> None:
    state, data = saved
    magic, version, length, digest = struct.unpack_from("<8sIQ32s", data)
    assert (magic, version, HEADER_SIZE) == (MAGIC, FORMAT_VERSION, 52)
    payload = data[HEADER_SIZE:]
    assert length == len(payload) and digest == hashlib.sha256(payload).digest()
    # the payload itself loads under torch's safe default: nothing we write needs code to rebuild
    assert_same(state, torch.load(io.BytesIO(payload), weights_only=True))


def test_saved_model_loads_into_a_fresh_model(tmp_path: Path) -> None:
    model = small_model()
    save_checkpoint(tmp_path / "m.ckpt", {"model": model.state_dict()})
    fresh = VQUNet(2, 1, 2, channels=(8, 16), codebook_size=16, codebook_dim=8, norm_groups=4)
    load_state_dict_strict(fresh, load_checkpoint(tmp_path / "m.ckpt")["model"], tmp_path)
    assert_same(model.state_dict(), fresh.state_dict())
    assert "quantizer.initialized" in fresh.state_dict() and "quantizer.usage" in fresh.state_dict()


# --- what may be saved -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (np.zeros(3), "state['x']"),
        (np.float64(1.0), "state['x']"),
        (np.int64(3), "state['x']"),
        ({"a": [1, np.float32(2.0)]}, "state['x']['a'][1]"),
        ({"opt": {"lr": object()}}, "state['x']['opt']['lr']"),
        ({1, 2}, "state['x']"),
        (Path("p"), "state['x']"),
        (torch.float32, "state['x']"),
        (np.random.get_state(), "state['x'][1]"),  # noqa: NPY002
    ],
)
def test_unsupported_values_are_refused_before_writing(
    tmp_path: Path, value: object, where: str
) -> None:
    path = tmp_path / "bad.ckpt"
    save_checkpoint(path, {"x": 1})
    before = path.read_bytes()
    with pytest.raises(UnsupportedValueError, match=re.escape(where)) as info:
        save_checkpoint(path, {"ok": torch.ones(2), "x": value})
    assert isinstance(info.value, TypeError) and isinstance(info.value, CheckpointError)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ckpt"]


def test_non_dict_cycles_and_odd_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedValueError, match="must be a dict"):
        save_checkpoint(tmp_path / "a.ckpt", [1, 2])  # type: ignore[arg-type]
    loop: list = []
    loop.append(loop)
    with pytest.raises(UnsupportedValueError, match="cycle"):
        save_checkpoint(tmp_path / "a.ckpt", {"loop": loop})
    with pytest.raises(UnsupportedValueError, match="key"):
        save_checkpoint(tmp_path / "a.ckpt", {"d": {(1, 2): 3}})
    save_checkpoint(
        tmp_path / "a.ckpt",
        {"od": OrderedDict(a=1), 0: None, "p": torch.nn.Parameter(torch.ones(1))},
    )


# --- integrity: every damaged file gives one error naming the file ---------------------------


def test_single_byte_corruptions_are_all_rejected(
    tmp_path: Path, saved: tuple[dict, bytes]
) -> None:
    _, data = saved
    rng = random.Random(20220918)
    positions = rng.sample(range(HEADER_SIZE), 20) + rng.sample(range(HEADER_SIZE, len(data)), 80)
    path = tmp_path / "corrupt.ckpt"
    for pos in positions:
        damaged = bytearray(data)
        damaged[pos] ^= rng.randrange(1, 256)
        path.write_bytes(bytes(damaged))
        rejected(path)


def test_every_header_byte_is_checked(tmp_path: Path, saved: tuple[dict, bytes]) -> None:
    _, data = saved
    path = tmp_path / "header.ckpt"
    for pos in range(HEADER_SIZE):
        damaged = bytearray(data)
        damaged[pos] ^= 0x01
        path.write_bytes(bytes(damaged))
        rejected(path)


def test_truncations_are_all_rejected(tmp_path: Path, saved: tuple[dict, bytes]) -> None:
    _, data = saved
    rng = random.Random(7)
    lengths = {0, 1, 7, 8, 20, 51, 52, 53, len(data) - 1, len(data) // 2}
    lengths |= set(rng.sample(range(len(data)), 60))
    path = tmp_path / "short.ckpt"
    for n in sorted(lengths):
        path.write_bytes(data[:n])
        error = rejected(path)
        assert re.search("empty|truncated|magic", error.cause), (n, error.cause)
    path.write_bytes(data + b"\0")
    rejected(path)


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (lambda p: None, "file not found"),
        (lambda p: p.mkdir(), "cannot read"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: torch.save({"a": torch.ones(1)}, p), "plain torch.save"),
        (lambda p: p.write_bytes(b"hello world" * 10), "bad magic"),
    ],
)
def test_unreadable_files_name_the_cause(tmp_path: Path, make, cause: str) -> None:
    path = tmp_path / "x.ckpt"
    make(path)
    assert cause in rejected(path).cause


def test_wrong_format_version_is_named(tmp_path: Path, saved: tuple[dict, bytes]) -> None:
    _, data = saved
    path = tmp_path / "v2.ckpt"
    path.write_bytes(data[:8] + struct.pack("<I", FORMAT_VERSION + 1) + data[12:])
    assert f"version {FORMAT_VERSION + 1}" in rejected(path).cause


def test_expected_keys_lists_missing_and_unexpected(tmp_path: Path) -> None:
    path = tmp_path / "k.ckpt"
    save_checkpoint(path, {"model": {}, "step": 3, "extra": 1})
    assert load_checkpoint(path, expected_keys=["model", "step", "extra"])["step"] == 3
    with pytest.raises(CheckpointError, match=r"missing \['optimizer'\].*unexpected \['extra'\]"):
        load_checkpoint(path, expected_keys=["model", "step", "optimizer"])


# --- nothing from the file runs --------------------------------------------------------------


class _Payload:
    """Unpickling this object creates ``marker`` (opens it for writing)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _wrap(payload: bytes) -> bytes:
    """A checkpoint with a valid header and sha256 around ``payload`` (the documented layout)."""
    header = struct.pack(
        "<8sIQ32s", MAGIC, FORMAT_VERSION, len(payload), hashlib.sha256(payload).digest()
    )
    return header + payload


def test_crafted_pickle_payload_is_refused_and_does_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(_wrap(_torch_bytes({"model": _Payload(marker)})))
    error = rejected(evil)
    assert "unpickler" in error.cause
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.ckpt"]


def test_the_crafted_payload_is_live_under_a_plain_unpickler(tmp_path: Path) -> None:
    """Control for the test above: the same kind of payload does run without protection."""
    control = tmp_path / "control"
    with zipfile.ZipFile(io.BytesIO(_torch_bytes({"model": _Payload(control)}))) as archive:
        pickled = archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))
    pickle.loads(pickled)  # plain pickle, on purpose
    assert control.exists()


@pytest.mark.parametrize(
    "payload",
    [
        lambda: b"not a zip at all",
        lambda: _torch_bytes([1, 2, 3]),
        lambda: _torch_bytes({"a": np.zeros(2)}),
    ],
)
def test_payloads_with_a_valid_hash_but_bad_content_are_refused(tmp_path: Path, payload) -> None:
    path = tmp_path / "p.ckpt"
    path.write_bytes(_wrap(payload()))
    rejected(path)


def _torch_bytes(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _calls(text: str, name: str) -> list[str]:
    """The full text of each call ``name(...)`` in ``text`` (balanced parentheses)."""
    calls = []
    for match in re.finditer(re.escape(name) + r"\s*\(", text):
        depth, end = 0, match.end() - 1
        for end in range(match.end() - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        calls.append(text[match.start() : end + 1])
    return calls


def test_src_has_one_safe_torch_load() -> None:
    texts = {p: p.read_text(encoding="utf-8") for p in SRC.rglob("*.py")}
    assert not [p for p, t in texts.items() if re.search(r"weights_only\s*=\s*False", t)]
    assert not [p for p, t in texts.items() if "pickle_module" in t]
    calls = [(p, call) for p, t in texts.items() for call in _calls(t, "torch.load")]
    assert len(calls) == 1, calls
    ((where, call),) = calls
    assert where.parts[-2:] == ("checkpoint", "container.py")  # safe_torch_load
    assert re.search(r"weights_only\s*=\s*True", call), call
    unpicklers = r"\b(?:pickle|dill|cloudpickle|joblib)\.loads?\s*\(|torch\.serialization\.load"
    assert not [p for p, t in texts.items() if re.search(unpicklers, t)]


# --- a kill during a save never leaves a corrupt checkpoint ----------------------------------


def test_failed_replace_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "last.ckpt"
    save_checkpoint(path, {"step": 1, "w": torch.ones(4)})

    def boom(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, {"step": 2, "w": torch.zeros(4)})
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_failed_write_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "last.ckpt"
    save_checkpoint(path, {"step": 1})
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"step": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


_SAVER = textwrap.dedent(
    """
    import sys, torch
    from vqseg_core.checkpoint import save_checkpoint
    path = sys.argv[1]
    step = 0
    while True:
        step += 1
        save_checkpoint(path, {"step": step, "w": torch.full((300_000,), float(step))})
        print(step, flush=True)
    """
)


def test_sigkill_during_saves_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    rng = random.Random(3)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    last_seen = 0
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(path)], stdout=subprocess.PIPE, env=env, text=True
        )
        try:
            assert proc.stdout is not None
            for _ in range(rng.randint(1, 6)):  # let some saves complete, then kill mid-loop
                last_seen = int(proc.stdout.readline())
            time.sleep(rng.uniform(0.0, 0.01))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        state = load_checkpoint(path)
        # the file holds a complete save at least as recent as the last reported one
        assert state["step"] >= last_seen
        assert torch.equal(state["w"], torch.full((300_000,), float(state["step"])))


# --- does it fit the model and the run? ------------------------------------------------------


def test_load_state_dict_strict_lists_every_problem(tmp_path: Path) -> None:
    model = small_model()
    state = dict(model.state_dict())
    del state["quantizer.usage"]
    state["extra.weight"] = torch.zeros(1)
    state["quantizer.codebook"] = torch.zeros(32, 8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError) as info:
        load_state_dict_strict(model, state, tmp_path / "m.ckpt")
    message = str(info.value)
    assert str(tmp_path / "m.ckpt") in message
    assert "missing keys ['quantizer.usage']" in message
    assert "unexpected keys ['extra.weight']" in message
    assert "quantizer.codebook: expected (16, 8), found (32, 8)" in message
    assert_same(before, dict(model.state_dict()))


def test_config_mismatch_is_refused_unless_allowed() -> None:
    saved = {"model": {"channels": [8, 16], "kind": "vqunet"}, "data": {"root": "a"}, "epochs": 5}
    same = {"model": {"channels": (8, 16), "kind": "vqunet"}, "data": {"root": "a"}, "epochs": 9}
    assert check_config_compatible(saved, same) == []
    changed = {
        "model": {"channels": [8, 32], "kind": "vqunet", "cosine": True},
        "data": {"root": "b"},
    }
    with pytest.raises(ConfigMismatchError) as info:
        check_config_compatible(saved, changed, path="run/last.ckpt")
    message = str(info.value)
    assert message.startswith("run/last.ckpt")
    for key in ("model.channels", "model.cosine", "data.root"):
        assert key in message
    assert "<absent>" in message
    assert [d[0] for d in info.value.differences] == ["model.channels", "model.cosine", "data.root"]
    with pytest.warns(UserWarning, match="model.channels"):
        diffs = check_config_compatible(saved, changed, allow_change=True)
    assert len(diffs) == 3
    with pytest.raises(ConfigMismatchError, match="data"):
        check_config_compatible(saved, {"model": saved["model"]})
    assert check_config_compatible(saved, {"model": saved["model"]}, sections=("model",)) == []


def test_errors_survive_pickling_for_worker_processes() -> None:
    error = ConfigMismatchError("f.ckpt", "differs", [("model.k", 1, 2)])
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.path, copy.differences) == (str(error), "f.ckpt", [("model.k", 1, 2)])
    assert str(pickle.loads(pickle.dumps(CheckpointError(None, "x")))) == "x"
