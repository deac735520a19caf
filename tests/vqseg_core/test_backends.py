"""Predictor backends: ONNX Runtime float32 on the CPU against eager torch, caching, fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vqseg_core.backends import choose
from vqseg_core.inference import Predictor
from vqseg_core.models import VQUNet

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from vqseg_core.backends import onnx as onnx_backend


def _model(seed: int = 0) -> VQUNet:
    torch.manual_seed(seed)
    return VQUNet(2, 1, 3, channels=(8, 16), norm_groups=4, codebook_size=16, codebook_dim=8).eval()


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(onnx_backend.CACHE_ENV, str(tmp_path))
    monkeypatch.delenv("VQSEG_BACKEND", raising=False)
    monkeypatch.setattr(onnx_backend, "_files", type(onnx_backend._files)())
    return tmp_path / "onnx"


def test_onnx_logits_equal_eager_float32_and_the_batch_axis_is_free() -> None:
    model = _model()
    fast = Predictor(model, device="cpu", backend="onnx")
    eager = Predictor(_model(), device="cpu", precision="fp32")
    assert fast.backend == "onnx" and "onnxruntime" in fast.backend_note
    assert eager.backend == "torch" and "float32" in eager.backend_note
    x = torch.rand(1, 1, 32, 24, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(
        fast.forward(x, with_encoding=False).logits,
        eager.forward(x, with_encoding=False).logits,
        atol=1e-4,
        rtol=1e-4,
    )
    batch = torch.rand(3, 1, 32, 24, generator=torch.Generator().manual_seed(2))
    a = fast.forward(batch, with_encoding=False).logits
    b = eager.forward(batch, with_encoding=False).logits
    assert a.shape == (3, 3, 32, 24)
    assert (a.argmax(1) == b.argmax(1)).float().mean() >= 0.9999
    # latents always come from eager torch float32
    enc = fast.forward(batch).encoding
    assert enc is not None and enc.indices is not None
    assert torch.equal(enc.indices, eager.forward(batch).encoding.indices)  # type: ignore[union-attr]


def test_exports_are_cached_per_shape_in_memory_and_on_disk(_cache: Path) -> None:
    first = Predictor(_model(), device="cpu", backend="onnx")
    x = torch.rand(1, 1, 16, 16)
    first.forward(x, with_encoding=False)
    runner = first._choice.runner
    assert runner.export_seconds[(1, 16, 16)] > 0
    assert len(list(_cache.glob("*.onnx"))) == 1
    first.forward(torch.rand(1, 1, 16, 32), with_encoding=False)  # another shape: another file
    assert len(list(_cache.glob("*.onnx"))) == 2
    onnx_backend._files.clear()
    again = Predictor(_model(), device="cpu", backend="onnx")  # same weights: from disk
    again.forward(x, with_encoding=False)
    assert again._choice.runner.export_seconds[(1, 16, 16)] == 0.0
    other = Predictor(_model(seed=1), device="cpu", backend="onnx")  # other weights: new key
    assert other._choice.runner.key != runner.key


def test_auto_picks_onnx_for_precision_auto_on_the_cpu_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cpu = torch.device("cpu")
    model = _model()
    assert choose("auto", model, cpu, "auto", None).name == "onnx"
    assert choose("auto", model, cpu, "fp32", None).name == "torch"
    assert choose("auto", model, cpu, "bf16", torch.bfloat16).name == "torch"
    assert choose("auto", torch.nn.Conv2d(1, 2, 1), cpu, "auto", None).name == "torch"
    with pytest.raises(ValueError, match="float32 on the CPU"):
        choose("onnx", model, cpu, "bf16", torch.bfloat16)
    with pytest.raises(ValueError, match="backend must be"):
        choose("tensorrt", model, cpu, "auto", None)
    monkeypatch.setenv("VQSEG_BACKEND", "torch")
    assert Predictor(model, device="cpu").backend == "torch"
    monkeypatch.setattr(onnx_backend, "available", lambda: False)
    monkeypatch.delenv("VQSEG_BACKEND")
    note = Predictor(model, device="cpu").backend_note
    assert "not installed" in note


def test_a_failing_session_falls_back_to_eager_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self, shape, threads=None):
        raise RuntimeError("no session today")

    monkeypatch.setattr(onnx_backend.OnnxLogits, "session", broken)
    predictor = Predictor(_model(), device="cpu")
    assert predictor.backend == "onnx"
    x = torch.rand(2, 1, 16, 16)
    out = predictor.forward(x, with_encoding=False).logits
    assert predictor.backend == "torch" and "no session today" in predictor.backend_note
    ref = Predictor(_model(), device="cpu", precision="fp32").forward(x, with_encoding=False)
    torch.testing.assert_close(out, ref.logits)


def test_warm_up_prepares_the_session_or_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    predictor = Predictor(_model(), device="cpu", backend="onnx")
    predictor.warm_up((16, 16))
    assert any(shape == (1, 16, 16) for shape, _ in predictor._choice.runner._sessions)
    Predictor(_model(), device="cpu", precision="fp32").warm_up((16, 16))  # torch: nothing to do

    def broken(self, shape, threads=None):
        raise RuntimeError("export refused")

    monkeypatch.setattr(onnx_backend.OnnxLogits, "session", broken)
    other = Predictor(_model(), device="cpu", backend="onnx")
    other.warm_up((16, 16))
    assert other.backend == "torch" and "export refused" in other.backend_note


def test_volumes_run_through_the_backend_slice_by_slice() -> None:
    predictor = Predictor(_model(), device="cpu", backend="onnx")
    eager = Predictor(_model(), device="cpu", precision="fp32")
    volume = np.random.default_rng(0).random((16, 16, 5)).astype(np.float32)
    a, b = predictor.predict_labels(volume), eager.predict_labels(volume)
    assert a.shape == (16, 16, 5) and np.mean(a == b) >= 0.9999


def test_session_threads_follow_torch_threads() -> None:
    predictor = Predictor(_model(), device="cpu", backend="onnx")
    runner = predictor._choice.runner
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        predictor.forward(torch.rand(1, 1, 16, 16), with_encoding=False)
        assert ((1, 16, 16), 1) in runner._sessions
    finally:
        torch.set_num_threads(before)


def test_chest_pair_masks_agree_with_eager_float32() -> None:
    from vqseg_core.data.samples import get_sample
    from vqseg_core.io import load_image
    from vqseg_core.pretrained import load_pair

    image = load_image(get_sample("chest-xray").image)
    fast, eager = load_pair("chest-xray"), load_pair("chest-xray")
    a = fast.predict(image.array, image.spacing, device="cpu")
    b = eager.predict(image.array, image.spacing, device="cpu", precision="fp32")
    for key in fast.keys:
        assert fast.predictor(key, "cpu", "auto").backend == "onnx"
        assert np.mean(a[key] == b[key]) >= 0.9999, key


@pytest.mark.parametrize("spatial", [(29, 21), (75, 75)])
def test_inputs_the_network_pads_come_back_at_their_own_shape(spatial: tuple[int, int]) -> None:
    """A traced pad + crop inside the exported graph came back 5 x 5 for a 75 x 75 input
    (ct-organs pair): the backend pads to the network's shape itself and crops after."""
    torch.manual_seed(0)
    net = VQUNet(2, 1, 3, channels=(8, 8, 16, 16, 16), norm_groups=4, codebook_size=16,
                 codebook_dim=8).eval()  # fmt: skip
    fast = Predictor(net, device="cpu", backend="onnx")
    eager = Predictor(net, device="cpu", precision="fp32", backend="torch")
    x = torch.rand(2, 1, *spatial, generator=torch.Generator().manual_seed(3))
    a = fast.forward(x, with_encoding=False).logits
    b = eager.forward(x, with_encoding=False).logits
    assert fast.backend == "onnx"
    assert a.shape == b.shape == (2, 3, *spatial)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_warm_up_prepares_the_padded_shape_the_first_pass_runs(_cache: Path) -> None:
    predictor = Predictor(_model(), device="cpu", backend="onnx")
    runner = predictor._choice.runner
    predictor.warm_up((15, 13))  # the network halves once: 16 x 14 is what runs
    assert list(runner.export_seconds) == [(1, 16, 14)]
    sessions = dict(runner._sessions)
    out = predictor.forward(torch.rand(1, 1, 15, 13), with_encoding=False).logits
    assert out.shape == (1, 3, 15, 13)
    assert runner._sessions == sessions  # no second export or session for the first pass


def test_the_disk_cache_drops_the_least_recently_used_files_over_its_bound(
    _cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    _cache.mkdir(parents=True)
    for i, name in enumerate(["old", "used", "new"]):
        path = _cache / f"{name}.onnx"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1000 + i, 1000 + i))
    os.utime(_cache / "used.onnx", (5000, 5000))  # a cache hit refreshed it
    deleted = onnx_backend.prune_cache(_cache, 2000)
    assert [p.name for p in deleted] == ["old.onnx"]
    assert sorted(p.name for p in _cache.glob("*.onnx")) == ["new.onnx", "used.onnx"]
    # the file just written stays even alone over the bound; through an export, end to end
    monkeypatch.setenv(onnx_backend.CACHE_MIB_ENV, "0.0001")
    Predictor(_model(), device="cpu", backend="onnx").warm_up((16, 16))
    left = list(_cache.glob("*.onnx"))
    assert len(left) == 1 and left[0].name.endswith("-1x16x16.onnx")
    monkeypatch.setenv(onnx_backend.CACHE_MIB_ENV, "lots")
    assert onnx_backend.cache_limit_bytes() == onnx_backend.CACHE_MIB * 2**20
