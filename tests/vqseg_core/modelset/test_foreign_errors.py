"""Your own model, badly described or hostile: every refusal names the file, the key, the value.

Bad YAML, unknown keys, wrong classes, missing files, FIFOs, ``/dev/zero``, corrupt network
files, ONNX weights in other files, TorchScript from settings (it is code), a missing
onnxruntime: each is a :class:`ForeignModelError` (a ``ValueError``) said in one line.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from vqseg_core.modelset import set_from_files
from vqseg_core.modelset.foreign import (
    ForeignModelError,
    code_note,
    member_from_yaml,
    runs_code,
    split_code,
)

from ._foreign_builders import MONAI_ARGS, monai_yaml


def write(folder: Path, name: str = "m.yaml", **changes: Any) -> Path:
    """A MONAI model YAML (weights beside it) with ``changes`` (``None`` drops a key)."""
    base = yaml.safe_load(monai_yaml(folder).read_text())
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    path = folder / name
    path.write_text(yaml.safe_dump(base))
    return path


def refused(path: Path, *words: str) -> str:
    with pytest.raises(ForeignModelError) as info:
        member_from_yaml(path)
    text = str(info.value)
    assert str(path.name) in text or str(path) in text, text
    for word in words:
        assert word in text, (word, text)
    assert len(text) < 2000 and "\n" not in text, text
    return text


def test_not_yaml_not_a_mapping_not_our_format(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: [vqseg-model\n")
    refused(bad, "not a readable YAML")
    bad.write_text("- a list\n")
    refused(bad, "expected a mapping")
    bad.write_bytes(b"\xff\xfe\x00garbage")
    refused(bad, "not a readable YAML")
    refused(write(tmp_path, format="vqseg-weights"), "key 'format'", "vqseg-weights")
    refused(write(tmp_path, format_version=2), "format_version")


def test_every_key_checked_with_its_value(tmp_path: Path) -> None:
    refused(write(tmp_path, colour_map="x"), "unknown keys", "colour_map")
    refused(write(tmp_path, type="keras"), "key 'type'", "keras")
    refused(write(tmp_path, spatial_dims=4), "key 'spatial_dims'", "4")
    refused(write(tmp_path, in_channels=0), "key 'in_channels'")
    refused(write(tmp_path, recipe="xray"), "key 'recipe'", "xray")
    refused(write(tmp_path, image_size=[64]), "image_size")
    refused(write(tmp_path, image_size=[64, -1]), "key 'image_size'")
    refused(write(tmp_path, divisible_by=0), "key 'divisible_by'")
    refused(write(tmp_path, key="Has Space"), "key 'key'")
    refused(write(tmp_path, colour="red"), "key 'colour'", "red")
    refused(write(tmp_path, sha256="abc"), "key 'sha256'")
    refused(write(tmp_path, file=None), "key 'file'")


def test_wrong_classes(tmp_path: Path) -> None:
    refused(write(tmp_path, classes=None), "key 'classes'")
    refused(write(tmp_path, classes={0: "background"}), "key 'classes'", "label 0")
    refused(write(tmp_path, classes={1: "lungs", 2: "Lungs"}), "used twice")
    refused(write(tmp_path, classes={1: ""}), "key 'classes'")
    text = refused(write(tmp_path, classes={1: "lungs", 5: "spine"}), "key 'classes'", "[5]")
    assert "3" in text  # the network has 3 outputs


def test_monai_section(tmp_path: Path) -> None:
    refused(write(tmp_path, monai={"class": "NoSuchNet", "args": MONAI_ARGS}), "NoSuchNet")
    refused(write(tmp_path, monai={"class": "os.system"}), "key 'monai'")
    refused(write(tmp_path, monai={"class": "UNet", "args": {"spatial_dims": 2}}), "key 'monai'",
            "UNet(")  # fmt: skip
    huge = {**MONAI_ARGS, "channels": [100000, 200000, 400000]}
    refused(write(tmp_path, monai={"class": "UNet", "args": huge}), "memory budget")
    other = {**MONAI_ARGS, "channels": [4, 8, 16]}
    refused(write(tmp_path, monai={"class": "UNet", "args": other}), "state dict does not fit")
    refused(write(tmp_path, bottleneck="model.9"), "key 'bottleneck'", "model.9")
    refused(write(tmp_path, divisible_by=1), "is divisible_by right")  # odd sizes break it
    refused(write(tmp_path, type="onnx"), "key 'monai'")


def test_missing_file_fifo_and_dev_zero(tmp_path: Path) -> None:
    refused(write(tmp_path, file="nowhere.safetensors"), "file not found")
    assert "nowhere.safetensors" in refused(write(tmp_path, file="nowhere.safetensors"))
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    refused(write(tmp_path, file=fifo.name), "FIFO", "nothing was read")
    refused(write(tmp_path, file="/dev/zero"), "character device")
    refused(write(tmp_path, file="."), "folder")
    yaml_fifo = tmp_path / "pipe.yaml"
    os.mkfifo(yaml_fifo)
    refused(yaml_fifo, "FIFO")
    with pytest.raises(ForeignModelError, match="file not found"):
        member_from_yaml(tmp_path / "absent.yaml")


def test_too_large_or_too_many_values(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("format: vqseg-model\n" + "#" * (1 << 20) + "\n")
    refused(big, "larger than")
    bomb = tmp_path / "bomb.yaml"
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 6):
        lines.append(f"{'abcdefgh'[i]}: &{'abcdefgh'[i]} [{', '.join(['*' + 'abcdefgh'[i - 1]] * 10)}]")
    bomb.write_text("\n".join(lines) + "\n")
    refused(bomb, "more than")
    deep = tmp_path / "deep.yaml"
    deep.write_text("format: " + "[" * 5000 + "]" * 5000 + "\n")
    refused(deep)


def test_corrupt_network_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"PK\x03\x04 not a zip")
    common = {"monai": None, "file": junk.name}
    refused(write(tmp_path, "ts.yaml", type="torchscript", **common), "not a TorchScript file")
    refused(write(tmp_path, "o.yaml", type="onnx", **common), "ONNX")
    refused(write(tmp_path, file=junk.name), "not a state dict")
    pickle = tmp_path / "evil.pt"
    pickle.write_bytes(b"\x80\x04cos\nsystem\n(S'true'\ntR.")
    refused(write(tmp_path, file=pickle.name), "not a state dict")


def test_sha256_mismatch(tmp_path: Path) -> None:
    refused(write(tmp_path, sha256="0" * 64), "sha256", "differs")


def test_onnx_external_data_and_missing_onnxruntime(tmp_path: Path, monkeypatch) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.float32), "W")
    weights.data_location = TensorProto.EXTERNAL
    weights.ClearField("raw_data")
    entry = weights.external_data.add()
    entry.key, entry.value = "location", "../../etc/hostname"
    node = helper.make_node("Conv", ["x", "W"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 1, "h", "w"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weights])  # fmt: skip
    path = tmp_path / "ext.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    onnx_yaml = write(tmp_path, "ext.yaml", type="onnx", monai=None, file=path.name)
    refused(onnx_yaml, "external data")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    refused(onnx_yaml, "onnxruntime", "napari-vqseg[onnx]")
    assert onnx is not None


def test_torchscript_is_code_never_loaded_from_settings(tmp_path: Path) -> None:
    ts = write(tmp_path, "ts.yaml", type="torchscript", monai=None, file="model.pt")
    assert runs_code(ts) and not runs_code(write(tmp_path)) and not runs_code(tmp_path / "x.yaml")
    with pytest.raises(ForeignModelError, match=r"TorchScript .*code"):
        member_from_yaml(ts, allow_code=False)
    files, code = split_code([str(tmp_path / "u.json"), str(ts), str(tmp_path / "m.yaml")])
    assert code == (str(ts),) and files == (str(tmp_path / "u.json"), str(tmp_path / "m.yaml"))
    assert "ts.yaml" in code_note(code) and "Files..." in code_note(code)


def test_a_torchscript_submodule_is_no_bottleneck(tmp_path: Path) -> None:
    import torch

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1))
    torch.jit.script(net).save(str(tmp_path / "seq.pt"))
    spec = {"type": "torchscript", "monai": None, "file": "seq.pt"}
    refused(write(tmp_path, "a.yaml", **{**spec, "bottleneck": "0"}), "submodule", "method")
    refused(write(tmp_path, "b.yaml", **{**spec, "bottleneck": "encode"}), "no method", "encode")
    spec["bottleneck"] = None
    member = member_from_yaml(write(tmp_path, "c.yaml", **spec))
    assert member.model.out_channels == 3 and not member.model.has_latents
    one = torch.jit.script(torch.nn.Conv2d(1, 1, 1))
    one.save(str(tmp_path / "one.pt"))
    refused(write(tmp_path, "d.yaml", **{**spec, "file": "one.pt"}), "1 output channel")
    refused(write(tmp_path, "e.yaml", in_channels=2, **spec), "fails on a test input")


def test_set_from_files_names_the_yaml(tmp_path: Path) -> None:
    bad = write(tmp_path, classes={1: "lungs", 7: "x"})
    with pytest.raises(ValueError, match=r"m\.yaml.*classes"):
        set_from_files([bad])


def test_export_command_refuses_an_unknown_format(tmp_path: Path, capsys) -> None:
    from vqseg_core.modelset.export_formats import main
    from vqseg_core.pretrained.registry import WEIGHTS_DIR

    assert main([str(WEIGHTS_DIR / "chest-xray-unet.json"), "--to", "keras", "--out", str(tmp_path)]) == 2
    assert "keras" in capsys.readouterr().err
    assert main([str(tmp_path / "absent.json"), "--to", "onnx"]) == 2
    assert "absent.json" in capsys.readouterr().err


def test_export_formats_are_checked_before_training(monkeypatch) -> None:
    import importlib.util

    from vqseg_core.modelset.export_formats import parse_formats

    assert parse_formats(" TorchScript , onnx,onnx") == ["torchscript", "onnx"]
    assert parse_formats("") == []
    with pytest.raises(ValueError, match="keras"):
        parse_formats(["torchscript", "keras"])
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxscript" else real(name, *a))  # fmt: skip
    with pytest.raises(ValueError, match=r"onnxscript.*napari-vqseg\[onnx\]"):
        parse_formats("onnx")
    assert parse_formats("torchscript") == ["torchscript"]
