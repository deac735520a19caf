"""Hostile exports (``NAME.json`` + ``NAME.safetensors``) given to a model set.

A JSON whose config claims 10^9 codes or 10^6 channels is refused before the network is
built; so is one claiming 2x10^6 codes when the weights file holds far fewer values (before
the fix: a 2 GB allocation, then a refusal). The cases that would allocate run in their own
process under an address-space limit, so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from isolated import run_isolated
from vqseg_core.checkpoint import CheckpointError
from vqseg_core.models import ModelConfig, build_model
from vqseg_core.modelset import ModelSet, member_from_export, set_from_files
from vqseg_core.weights import export_weights

SMALL = ModelConfig(kind="vqunet", channels=(8, 16), codebook_size=16, codebook_dim=8, norm_groups=4)
DATA = {"recipe": "chest_xray", "image_size": [32, 32], "labels": {"1": "lungs"}}
LIMIT_GB = 3  # the child's address space beyond its imports: no network of gigabytes


def _export(folder: Path, name: str, model_config: dict, data: dict | None = None) -> Path:
    """An export whose JSON (and embedded config) says ``model_config``; the weights are
    always those of the small network (the sha256 matches: only the config lies)."""
    torch.manual_seed(0)
    config = {"model": model_config, "data": data or DATA}
    return export_weights(build_model(SMALL), config, folder, name)[1]


def _limited(body: str, env: dict[str, str] | None = None):
    # the limit counts from the address space after the imports: a CUDA build of torch (the
    # PyPI wheel of the lowest supported torch) maps gigabytes of libraries before any network
    prelude = (
        "import resource\n"
        "from vqseg_core.checkpoint import CheckpointError\n"
        "from vqseg_core.modelset import set_from_files\n"
        "import vqseg_core.models, vqseg_core.weights\n"
        "with open('/proc/self/status') as fh:\n"
        "    vm = next(int(l.split()[1]) << 10 for l in fh if l.startswith('VmSize:'))\n"
        f"resource.setrlimit(resource.RLIMIT_AS, (vm + ({LIMIT_GB} << 30),) * 2)\n"
    )
    return run_isolated(prelude + body, expect="CheckpointError", timeout=120, env=env)


needs_rlimit = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="address-space limits are Linux-only here"
)


@needs_rlimit
@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"codebook_size": 10**9}, ("codebook_size", "1000000000")),
        ({"channels": [10**6, 10**6], "norm_groups": 1}, ("memory budget", "[1000000, 1000000]")),
        ({"num_res_blocks": 10**7}, ("memory budget", "num_res_blocks=10000000")),
        ({"codebook_size": 2**20, "codebook_dim": 2**14}, ("memory budget", "codebook_dim=16384")),
    ],
    ids=["1e9-codes", "1e6-channels", "1e7-blocks", "64GiB-codebook"],
)
def test_a_config_over_the_memory_budget_is_refused_before_building(
    tmp_path: Path, change: dict, named: tuple[str, ...]
) -> None:
    path = _export(tmp_path, "huge", {**SMALL.to_dict(), **change})
    outcome = _limited(f"set_from_files([{str(path)!r}])")
    assert outcome.kind == "error", (outcome.kind, outcome.message[-800:])
    assert str(path) in outcome.message
    for word in named:
        assert word in outcome.message, outcome.message


@needs_rlimit
def test_a_config_that_does_not_fit_the_weights_is_refused_before_building(tmp_path: Path) -> None:
    claim = {**SMALL.to_dict(), "codebook_size": 10**6, "codebook_dim": 512}  # a 2 GB codebook
    path = _export(tmp_path, "liar", claim)
    # a budget large enough for the claimed network: only the size check stops it
    outcome = _limited(f"set_from_files([{str(path)!r}])", env={"VQSEG_MEMORY_BUDGET": "64G"})
    assert outcome.kind == "error", (outcome.kind, outcome.message[-800:])
    assert str(path) in outcome.message and "do not belong together" in outcome.message


def test_classes_that_are_not_outputs_of_the_network_are_refused(tmp_path: Path) -> None:
    data = {**DATA, "labels": {"1": "lungs", "2": "heart"}}  # two classes, two outputs
    path = _export(tmp_path, "three", SMALL.to_dict(), data)
    with pytest.raises(CheckpointError, match=r"classes \[2\] are not outputs") as info:
        member_from_export(path)
    assert str(path) in str(info.value)


def test_an_honest_small_export_still_loads(tmp_path: Path) -> None:
    path = _export(tmp_path, "ok", SMALL.to_dict())
    member = member_from_export(path)
    assert member.classes == {1: "lungs"} and member.model.quantizer.codebook_size == 16


def test_members_that_disagree_on_a_class_name_are_refused(tmp_path: Path) -> None:
    a = _export(tmp_path, "a", SMALL.to_dict())
    b = _export(tmp_path, "b", SMALL.to_dict(), {**DATA, "labels": {"1": "heart"}})
    with pytest.raises(ValueError, match="disagree on label 1") as info:
        set_from_files([a, b], name="pair")
    message = str(info.value)
    assert "'lungs'" in message and "'heart'" in message
    assert "a calls it" in message and "b calls it" in message


def test_members_that_put_one_class_on_two_values_are_refused(tmp_path: Path) -> None:
    m = member_from_export(_export(tmp_path, "a", SMALL.to_dict()))
    from dataclasses import replace

    other = replace(m, key="other", classes={2: "lungs"})
    with pytest.raises(ValueError, match="disagree on class 'lungs'"):
        ModelSet("s", (m, other))
    same = replace(m, key="same")
    assert ModelSet("s", (m, same)).classes == {1: "lungs"}


def test_the_budget_is_read_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    path = _export(tmp_path, "ok", SMALL.to_dict())
    monkeypatch.setenv("VQSEG_MEMORY_BUDGET", "1K")
    with pytest.raises(CheckpointError, match=r"memory budget of 1\.0 KiB"):
        member_from_export(path)
    monkeypatch.delenv("VQSEG_MEMORY_BUDGET")
    assert member_from_export(path).key == "vqunet"
