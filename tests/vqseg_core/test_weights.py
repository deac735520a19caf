"""Released weights: safetensors + JSON, exact or half precision, every damage detected."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from vqseg_core.checkpoint import CheckpointError, load_state_dict_strict
from vqseg_core.models import ModelConfig, VQUNet, build_model
from vqseg_core.weights import export_weights, load_weights

CONFIG = ModelConfig(
    kind="vqunet", channels=(8, 16), codebook_size=16, codebook_dim=8, norm_groups=4
)


def small_model() -> VQUNet:
    torch.manual_seed(0)
    model = build_model(CONFIG)
    model.quantizer.usage.mul_(0.5)  # buffers differ from a fresh model's
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[VQUNet, Path, Path]:
    model = small_model()
    folder = tmp_path_factory.mktemp("weights")
    weights, meta = export_weights(model, {"model": CONFIG.to_dict()}, folder, "vq_small")
    return model, weights, meta


def rejected(path: Path, named: Path) -> CheckpointError:
    with pytest.raises(CheckpointError) as info:
        load_weights(path)
    assert str(named) in str(info.value)
    return info.value


def test_export_writes_safetensors_and_json(exported: tuple[VQUNet, Path, Path]) -> None:
    model, weights, meta_path = exported
    assert (weights.name, meta_path.name) == ("vq_small.safetensors", "vq_small.json")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["config"] == {"model": CONFIG.to_dict()}
    assert meta["tensor_count"] == len(model.state_dict())
    assert meta["size_bytes"] == weights.stat().st_size
    assert meta["dtype"] == "float32"
    assert meta["torch_version"] == torch.__version__
    assert len(meta["sha256"]) == 64
    assert sorted(p.name for p in weights.parent.iterdir()) == [meta_path.name, weights.name]


@pytest.mark.parametrize("which", [1, 2])
def test_float32_round_trip_is_exact_with_buffers(
    exported: tuple[VQUNet, Path, Path], which: int
) -> None:
    model, *paths = exported
    state, config = load_weights(paths[which - 1])
    assert config == {"model": CONFIG.to_dict()}
    expected = model.state_dict()
    assert set(state) == set(expected)
    assert {"quantizer.initialized", "quantizer.usage", "quantizer.codebook"} <= set(state)
    for key, value in expected.items():
        assert state[key].dtype == value.dtype and torch.equal(state[key], value), key
    fresh = build_model(ModelConfig.from_dict({**config["model"], "channels": (8, 16)}))
    load_state_dict_strict(fresh, state, paths[0])


def test_half_precision_loads_back_as_float32(tmp_path: Path) -> None:
    model = small_model()
    full, _ = export_weights(model, {}, tmp_path, "full")
    half, meta_path = export_weights(model, {}, tmp_path, "half", dtype=torch.float16)
    assert json.loads(meta_path.read_text(encoding="utf-8"))["dtype"] == "float16"
    assert half.stat().st_size < 0.6 * full.stat().st_size
    state, _ = load_weights(half)
    for key, value in model.state_dict().items():
        if value.is_floating_point():
            assert state[key].dtype == torch.float32, key
            assert torch.equal(state[key], value.half().float()), key
            torch.testing.assert_close(state[key], value, rtol=1e-3, atol=1e-4)
        else:
            assert state[key].dtype == value.dtype and torch.equal(state[key], value), key


def test_export_refuses_overflow_bad_names_dtypes_and_configs(tmp_path: Path) -> None:
    model = small_model()
    with torch.no_grad():
        model.quantizer.codebook[0, 0] = 1e6
    with pytest.raises(ValueError, match=r"quantizer\.codebook.*overflow"):
        export_weights(model, {}, tmp_path, "big", dtype=torch.float16)
    with pytest.raises(ValueError, match="name"):
        export_weights(model, {}, tmp_path, "../escape")
    with pytest.raises(ValueError, match="dtype"):
        export_weights(model, {}, tmp_path, "w", dtype=torch.int8)
    with pytest.raises(TypeError, match="JSON"):
        export_weights(model, {"bad": object()}, tmp_path, "w")
    with pytest.raises(TypeError, match="JSON"):
        export_weights(model, {"nan": float("nan")}, tmp_path, "w")
    assert list(tmp_path.iterdir()) == []


def test_single_byte_corruptions_are_all_rejected(
    tmp_path: Path, exported: tuple[VQUNet, Path, Path]
) -> None:
    _, weights, meta_path = exported
    data = weights.read_bytes()
    header_len = 8 + int.from_bytes(data[:8], "little")
    copy = tmp_path / weights.name
    (tmp_path / meta_path.name).write_bytes(meta_path.read_bytes())
    rng = random.Random(20220918)
    positions = rng.sample(range(header_len), 20) + rng.sample(range(header_len, len(data)), 80)
    for pos in positions:
        damaged = bytearray(data)
        damaged[pos] ^= rng.randrange(1, 256)
        copy.write_bytes(bytes(damaged))
        assert "sha256 mismatch" in rejected(copy, copy).cause


def test_truncations_are_all_rejected(tmp_path: Path, exported: tuple[VQUNet, Path, Path]) -> None:
    _, weights, meta_path = exported
    data = weights.read_bytes()
    copy = tmp_path / weights.name
    (tmp_path / meta_path.name).write_bytes(meta_path.read_bytes())
    lengths = {0, 1, 8, len(data) - 1} | set(random.Random(7).sample(range(len(data)), 40))
    for n in sorted(lengths):
        copy.write_bytes(data[:n])
        assert "truncated" in rejected(tmp_path / meta_path.name, copy).cause
    copy.write_bytes(data + b" ")
    rejected(copy, copy)


def _meta_copy(tmp_path: Path, exported: tuple[VQUNet, Path, Path]) -> tuple[Path, dict]:
    _, weights, meta_path = exported
    (tmp_path / weights.name).write_bytes(weights.read_bytes())
    (tmp_path / meta_path.name).write_bytes(meta_path.read_bytes())
    return tmp_path / meta_path.name, json.loads(meta_path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("edit", "cause"),
    [
        (lambda m: "{not json", "malformed JSON"),
        (lambda m: "[1, 2]", "expected an object"),
        (lambda m: {**m, "sha256": "0" * 64}, "sha256 mismatch"),
        (lambda m: {k: v for k, v in m.items() if k != "sha256"}, "sha256"),
        (lambda m: {**m, "format_version": 2}, "format_version"),
        (lambda m: {**m, "weights_file": "../vq_small.safetensors"}, "weights_file"),
        (lambda m: {**m, "tensor_count": m["tensor_count"] + 1}, "tensors"),
        (
            lambda m: {**m, "config": {"model": {**m["config"]["model"], "codebook_size": 17}}},
            "config",
        ),
    ],
)
def test_bad_json_is_rejected(tmp_path: Path, exported, edit, cause: str) -> None:
    meta_path, meta = _meta_copy(tmp_path, exported)
    new = edit(meta)
    meta_path.write_text(new if isinstance(new, str) else json.dumps(new), encoding="utf-8")
    assert cause in str(rejected(meta_path, tmp_path))


def test_missing_files_are_named(tmp_path: Path, exported) -> None:
    assert "file not found" in rejected(tmp_path / "nothing.json", tmp_path / "nothing.json").cause
    meta_path, _ = _meta_copy(tmp_path, exported)
    weights = meta_path.with_suffix(".safetensors")
    weights.unlink()
    assert "file not found" in rejected(meta_path, weights).cause
    assert (
        "expected a .json or .safetensors" in rejected(tmp_path / "w.pt", tmp_path / "w.pt").cause
    )
