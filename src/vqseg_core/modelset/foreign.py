"""Bring your own network: a TorchScript file, an ONNX file or a MONAI network as a member.

A small ``vqseg-model`` YAML beside the network (:mod:`vqseg_core.modelset.foreign_spec`)
names the file, the classes and the preprocessing; :func:`member_from_yaml` reads it, loads the
network behind the engine's contract (:class:`~vqseg_core.modelset.foreign_net.ForeignNetwork`)
and tries it once on a small input, so that a file that cannot segment fails at the door.

>>> member = member_from_yaml("my-unet.yaml")         # doctest: +SKIP
>>> models = set_from_files(["u.json", "my-unet.yaml"])  # doctest: +SKIP

**TorchScript is code.** Loading a TorchScript file runs what its author compiled into it: load
only files you trust, and only files you chose (``allow_code``; the explorer does not load one
named in imported settings).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from vqseg_core.checkpoint import CheckpointError
from vqseg_core.modelset.foreign_net import (
    ForeignModelError,
    ForeignNetwork,
    OnnxBackend,
    TorchBackend,
)
from vqseg_core.modelset.foreign_spec import ForeignSpec, is_model_yaml, read_spec
from vqseg_core.modelset.member import PALETTE, Member, slug_key

__all__ = [
    "ForeignModelError",
    "code_note",
    "is_model_yaml",
    "load_network",
    "member_from_yaml",
    "runs_code",
    "split_code",
]

ONNX_EXTRA = "pip install 'napari-vqseg[onnx]' (onnxruntime)"


def runs_code(path: str | Path) -> bool:
    """Whether the model YAML ``path`` names a TorchScript file (code); False when unreadable."""
    try:
        return read_spec(path).runs_code
    except ValueError:
        return False


def member_from_yaml(
    path: str | Path,
    *,
    key: str | None = None,
    name: str | None = None,
    colour: str | None = None,
    position: int = 0,
    allow_code: bool = True,
) -> Member:
    """One :class:`Member` from a ``vqseg-model`` YAML (see the module docstring).

    Args:
        path: the YAML.
        key, name, colour: override the YAML's (defaults: the YAML's, else from its file name
            and the palette colour of ``position``).
        position: place in the set.
        allow_code: load TorchScript (code); False refuses it (settings from elsewhere).

    Raises:
        ForeignModelError: naming the file: a bad YAML, a missing, non-regular, oversized,
            corrupt or foreign network file, a network that does not take the declared input,
            classes it has no output for, or a bottleneck it does not have.
    """
    from vqseg_core.data.spec import DataConfig, recipe_for

    spec = read_spec(path)
    if spec.runs_code and not allow_code:
        raise ForeignModelError(
            spec.path, f"names TorchScript ({spec.file.name}), which is code: not loaded from "
            "settings; choose the file yourself (Files...) if you trust it"
        )
    recipe = recipe_for(DataConfig.from_dict(spec.data))
    try:
        net, sha = load_network(spec, recipe)
    except CheckpointError as exc:  # about the network file: name the YAML too
        if exc.path is None or Path(exc.path) == spec.path:
            raise
        raise ForeignModelError(spec.path, f"its file {exc.path}: {exc.cause}") from None
    outside = sorted(v for v in spec.classes if v >= net.out_channels)
    if outside:
        raise ForeignModelError(
            spec.path, f"key 'classes': {outside} are not outputs of the network, which has "
            f"{net.out_channels} (background 0 and classes 1..{net.out_channels - 1}); "
            f"classes: {spec.classes}"
        )
    three_d = recipe.spatial_dims == 3 and spec.spatial_dims == 3
    patch = spec.data.get("patch_size")
    stem = Path(path).stem
    info = {"file": str(path), "model_file": str(spec.file), "type": spec.type,
            "bottleneck": spec.bottleneck, "validation_dice": None, "export_name": stem,
            "data": dict(spec.data)}  # fmt: skip
    return Member(
        key=key or spec.key or slug_key(spec.name or stem),
        name=name or spec.name or stem,
        kind=spec.type,
        colour=colour or spec.colour or PALETTE[position % len(PALETTE)],
        model=net.eval(),
        sha256=sha,
        classes=dict(spec.classes),
        recipe=recipe,
        patch_size=tuple(patch) if three_d and patch else None,
        info=info,
    )


def load_network(spec: ForeignSpec, recipe: Any) -> tuple[ForeignNetwork, str]:
    """``(network in eval mode, sha256 of its file)``, tried once on a small input."""
    from vqseg_core.checkpoint.files import read_regular_file

    what = {"torchscript": "TorchScript file", "onnx": "ONNX file", "monai": "state dict"}
    data = read_regular_file(spec.file, what=what[spec.type])
    sha = hashlib.sha256(data).hexdigest()
    if spec.sha256 is not None and sha != spec.sha256:
        raise ForeignModelError(
            spec.file, f"sha256 {sha} differs from the one {spec.path.name} gives ({spec.sha256})"
        )
    loader = {"torchscript": _torchscript, "onnx": _onnx, "monai": _monai}[spec.type]
    backend = loader(spec, data)
    net = ForeignNetwork(backend, spec.spatial_dims, spec.in_channels, 0, spec.divisible_by,
                         spec.type, str(spec.path)).eval()  # fmt: skip
    net.out_channels = _probe(net, spec, recipe)
    return net, sha


def _torchscript(spec: ForeignSpec, data: bytes) -> TorchBackend:
    try:
        with warnings.catch_warnings():  # "torch.jit.load is deprecated": the user chose it
            warnings.filterwarnings("ignore", r".*torch\.jit", DeprecationWarning)
            module = torch.jit.load(io.BytesIO(data), map_location="cpu")
    except Exception as exc:  # a corrupt archive, a pickle, anything else
        raise ForeignModelError(spec.file, f"not a TorchScript file ({_first_line(exc)})") from None
    if spec.bottleneck is not None:
        submodules = dict(module.named_modules())
        if spec.bottleneck in submodules and spec.bottleneck:
            raise ForeignModelError(
                spec.path, f"key 'bottleneck': {spec.bottleneck!r} is a submodule; PyTorch cannot "
                "hook a compiled (TorchScript) module: name a method that returns the latent "
                "(vqseg's own exports have 'bottleneck')"
            )
        if not _is_method(module, spec.bottleneck):
            raise ForeignModelError(
                spec.path, f"key 'bottleneck': the TorchScript module has no method "
                f"{spec.bottleneck!r} (it must map the input to the latent)"
            )
    return TorchBackend(module.eval(), spec.bottleneck, hook=False)


def _is_method(module: Any, name: str) -> bool:
    try:
        module._c._get_method(name)
    except (AttributeError, RuntimeError):
        return False
    return True


def _onnx(spec: ForeignSpec, data: bytes) -> OnnxBackend:
    try:
        import onnxruntime as ort
    except ImportError:
        raise ForeignModelError(
            spec.path, f"type 'onnx' needs onnxruntime, which is not installed: {ONNX_EXTRA}"
        ) from None
    _no_external_data(spec, data)
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, torch.get_num_threads())
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ForeignModelError(spec.file, f"not a usable ONNX file ({_first_line(exc)})") from None
    inputs, outputs = session.get_inputs(), [o.name for o in session.get_outputs()]
    if len(inputs) != 1 or inputs[0].type != "tensor(float)":
        found = [(i.name, i.type) for i in inputs]
        raise ForeignModelError(spec.file, f"expected one float32 image input, found {found}")
    shape = inputs[0].shape
    channels = shape[1] if len(shape) > 1 else None
    if len(shape) != spec.spatial_dims + 2 or (isinstance(channels, int) and channels != spec.in_channels):
        raise ForeignModelError(
            spec.path, f"key 'spatial_dims'/'in_channels': the ONNX input has shape {shape}, not "
            f"(batch, {spec.in_channels}, {spec.spatial_dims} spatial axes)"
        )
    logits = spec.logits or ("logits" if "logits" in outputs else outputs[0])
    for key, value in (("logits", logits), ("bottleneck", spec.bottleneck)):
        if value is not None and value not in outputs:
            raise ForeignModelError(
                spec.path, f"key {key!r}: the ONNX graph has no output {value!r}; its outputs: "
                f"{outputs}"
            )
    return OnnxBackend(session, inputs[0].name, logits, spec.bottleneck)


def _no_external_data(spec: ForeignSpec, data: bytes) -> None:
    """Refuse ONNX files whose weights point to other files (any path, any device)."""
    try:
        import onnx
    except ImportError:
        return  # onnxruntime itself refuses absolute paths
    try:
        model = onnx.load_model_from_string(data)  # never follows external data
    except Exception as exc:
        raise ForeignModelError(spec.file, f"not an ONNX file ({_first_line(exc)})") from None
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    if any(uses_external_data(t) for t in _get_all_tensors(model)):
        raise ForeignModelError(
            spec.file, "its weights are stored in other files (ONNX external data): not read; "
            "save the model as one file"
        )


def _monai(spec: ForeignSpec, data: bytes) -> TorchBackend:
    from monai.networks import nets

    from vqseg_core.checkpoint import load_state_dict_strict
    from vqseg_core.models.budget import format_bytes, memory_budget

    cls = getattr(nets, spec.monai_class or "", None)
    if not isinstance(cls, type) or not issubclass(cls, torch.nn.Module):
        raise ForeignModelError(
            spec.path, f"key 'monai': monai.networks.nets has no network {spec.monai_class!r}"
        )
    args = dict(spec.monai_args or {})
    try:
        with torch.device("meta"):  # size first: nothing allocated
            meta = cls(**args)
        values = sum(t.numel() for t in (*meta.parameters(), *meta.buffers()))
    except Exception as exc:
        raise ForeignModelError(
            spec.path, f"key 'monai': {spec.monai_class}({_show_args(args)}) fails: "
            f"{_first_line(exc)}"
        ) from None
    if values * 4 > memory_budget():
        raise ForeignModelError(
            spec.path, f"key 'monai': {spec.monai_class} with these args holds {values} values "
            f"({format_bytes(values * 4)}), over the memory budget; nothing was built"
        )
    state = _state_dict(spec, data)
    net = cls(**args)
    load_state_dict_strict(net, state, spec.file)
    if spec.bottleneck is not None and spec.bottleneck not in dict(net.named_modules()):
        names = [n for n, _ in net.named_modules() if n][:12]
        raise ForeignModelError(
            spec.path, f"key 'bottleneck': {spec.monai_class} has no module {spec.bottleneck!r} "
            f"(some of its modules: {names})"
        )
    return TorchBackend(net.eval(), spec.bottleneck, hook=True)


def _state_dict(spec: ForeignSpec, data: bytes) -> dict[str, torch.Tensor]:
    """The state dict of a ``.safetensors`` file or a weights-only torch file."""
    try:
        if spec.file.suffix == ".safetensors":
            from safetensors.torch import load

            state: Any = load(data)
        else:
            from vqseg_core.checkpoint.container import safe_torch_load

            state = safe_torch_load(data)
    except Exception as exc:
        raise ForeignModelError(
            spec.file, f"not a state dict (.safetensors, or a weights-only torch file): "
            f"{_first_line(exc)}"
        ) from None
    for wrapper in ("state_dict", "model", "network"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ForeignModelError(spec.file, "not a state dict (names -> tensors)")
    if state and all(k.startswith("module.") for k in state):  # saved from DataParallel
        state = {k[len("module."):]: v for k, v in state.items()}
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def _probe(net: ForeignNetwork, spec: ForeignSpec, recipe: Any) -> int:
    """Run the network on its usual input size, then on an odd size (padded to
    ``divisible_by``, unless an ONNX input is fixed); its outputs (classes + background)."""
    dims = spec.spatial_dims
    patch = spec.data.get("patch_size")
    if patch:
        size = tuple(patch)
    elif recipe.target_shape is not None and len(recipe.target_shape) == dims:
        size = tuple(recipe.target_shape)
    else:
        size = tuple(max(32, 2 * d) for d in spec.divisible_by)
    sizes = [size]
    if not getattr(net.backend, "fixed_size", False):
        sizes.append(tuple(max(33, 2 * d + 1) for d in spec.divisible_by))
    channels = 0
    for shape in sizes:
        x = torch.zeros((1, spec.in_channels, *net.padded_shape(shape)))
        try:
            with torch.inference_mode():
                out = net.forward_with_aux(x)
        except ForeignModelError:
            raise
        except Exception as exc:
            hint = "spatial_dims, in_channels?" if shape == size else (
                f"is divisible_by right? inputs of size {shape} are padded to {tuple(x.shape[2:])}")
            raise ForeignModelError(
                spec.path, f"the {spec.type} network fails on a test input of shape "
                f"{tuple(x.shape)} ({hint}): {_first_line(exc)}"
            ) from None
        channels = int(out.logits.shape[1])
    if channels < 2:
        raise ForeignModelError(
            spec.path, f"the network gives {channels} output channel(s): it must give "
            "one logit per class, background included (argmax gives the labels)"
        )
    return channels


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."


def _show_args(args: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return text if len(text) <= 200 else text[:197] + "..."


def split_code(files: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(files, TorchScript YAMLs left out)``: what settings from elsewhere may load.

    TorchScript is code, loaded only from a file the user chose: the explorer keeps the model
    YAMLs of imported settings that name one out (:func:`code_note` says so).
    """
    code = tuple(str(f) for f in files if is_model_yaml(f) and runs_code(f))
    return tuple(str(f) for f in files if str(f) not in code), code


def code_note(code: Sequence[str]) -> str:
    """One line for the user about the TorchScript YAMLs :func:`split_code` left out."""
    names = ", ".join(Path(f).name for f in code)
    return (f"Not loaded from the settings: {names} (TorchScript is code); add it with "
            "Files... if you trust it.")  # fmt: skip
