"""TorchScript and ONNX copies of a ``vqseg-train`` export, each with its ``vqseg-model`` YAML.

The copies load back as "your own model" (:mod:`vqseg_core.modelset.foreign`) and give the same
labels: the network runs on inputs padded to a multiple of its downsampling factor, exactly as
the original pads them. Both files carry the logits (``forward`` / output ``logits``) and the
bottleneck features (method ``bottleneck`` / output ``bottleneck``, before any quantiser).

Command line::

    python -m vqseg_core.modelset.export_formats runs/u/u.json --to torchscript,onnx --out DIR
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMATS = ("torchscript", "onnx")
logger = logging.getLogger(__name__)
__all__ = [
    "FORMATS",
    "export_formats",
    "export_onnx",
    "export_torchscript",
    "main",
    "parse_formats",
]


class _Exportable(nn.Module):
    """An export's network as plain tensor functions (what tracing and ONNX record)."""

    def __init__(self, model: nn.Module, both: bool) -> None:
        super().__init__()
        self.model = model
        self.both = both

    def forward(self, x: torch.Tensor) -> Any:
        if not self.both:
            return self.model(x)
        out = self.model.forward_with_aux(x)  # type: ignore[operator]
        return out.logits, out.encoding.features

    def bottleneck(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode(x).features  # type: ignore[operator]


def _load(export: str | Path) -> tuple[Any, dict[str, Any]]:
    from vqseg_core.modelset.exports import member_from_export

    member = member_from_export(export)
    data = dict(member.info.get("data") or {})
    return member, data


def _example(member: Any, data: dict[str, Any], factor: int) -> torch.Tensor:
    """A batch of two inputs of the model's usual size (padded to ``factor``)."""
    model = member.model
    dims = int(model.spatial_dims)
    size = data.get("patch_size") or data.get("image_size") or member.recipe.target_shape
    if not size or len(size) != dims:
        size = (4 * factor,) * dims
    size = tuple(-(-int(s) // factor) * factor for s in size)
    return torch.zeros((2, int(model.in_channels), *size))


def _spec(member: Any, data: dict[str, Any], kind: str, file: str, sha: str) -> dict[str, Any]:
    model = member.model
    spec: dict[str, Any] = {
        "format": "vqseg-model", "format_version": 1, "type": kind, "file": file,
        "name": f"{member.name} ({'TorchScript' if kind == 'torchscript' else 'ONNX'})",
        "description": f"{kind} export of {Path(str(member.info.get('file', ''))).name}",
        "spatial_dims": int(model.spatial_dims), "in_channels": int(model.in_channels),
        "classes": {int(k): str(v) for k, v in member.classes.items()},
        "recipe": data.get("recipe", member.recipe.name),
        "divisible_by": int(model.factor), "bottleneck": "bottleneck", "sha256": sha,
    }  # fmt: skip
    for key in ("image_size", "patch_size"):
        if data.get(key):
            spec[key] = [int(v) for v in data[key]]
    return spec


def _write(out: Path, stem: str, suffix: str, blob: bytes, spec: dict[str, Any]) -> Path:
    import yaml

    from vqseg_core.checkpoint import atomic_write_bytes

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / f"{stem}{suffix}", blob)
    yaml_path = out / f"{stem}.yaml"
    text = "# vqseg-model: load with vqseg-eval --models or the explorer's Files...\n"
    atomic_write_bytes(yaml_path, (text + yaml.safe_dump(spec, sort_keys=False)).encode())
    return yaml_path


def export_torchscript(export: str | Path, out: str | Path, *, stem: str | None = None) -> Path:
    """Trace the export's network to ``OUT/STEM.pt`` (methods ``forward``, ``bottleneck``);
    returns the ``OUT/STEM.yaml`` that loads it (default stem: ``NAME-torchscript``)."""
    import hashlib

    member, data = _load(export)
    model = member.model.float().eval()
    wrapper = _Exportable(model, both=False).eval()
    x = _example(member, data, int(model.factor))
    buffer = io.BytesIO()
    with torch.no_grad(), _quiet():
        traced = torch.jit.trace_module(
            wrapper, {"forward": (x,), "bottleneck": (x,)}, check_trace=False
        )
        torch.jit.save(traced, buffer)
    blob = buffer.getvalue()
    stem = stem or f"{Path(export).stem}-torchscript"
    spec = _spec(member, data, "torchscript", f"{stem}.pt", hashlib.sha256(blob).hexdigest())
    return _write(Path(out), stem, ".pt", blob, spec)


def export_onnx(
    export: str | Path, out: str | Path, *, stem: str | None = None, dynamo: bool = True
) -> Path:
    """Export the network to ``OUT/STEM.onnx`` (input ``image``; outputs ``logits``,
    ``bottleneck``; batch and spatial sizes free); returns its ``OUT/STEM.yaml`` (default stem:
    ``NAME-onnx``). ``dynamo=False`` uses the older TorchScript-based exporter (faster), which
    is also the fallback when ``torch.export`` refuses the network (a VQ-UNet's code-usage
    statistics are data-dependent)."""
    import hashlib

    member, data = _load(export)
    model = member.model.float().eval()
    factor = int(model.factor)
    wrapper = _Exportable(model, both=True).eval()
    x = _example(member, data, factor)
    try:
        with _quiet():
            try:
                blob = _onnx_bytes(wrapper, x, factor, dynamo)
            except ImportError:
                raise
            except Exception as exc:  # torch.export refuses data-dependent code (VQ stats)
                if not dynamo:
                    raise
                first = _summary(exc)
                logger.warning("torch.onnx.export(dynamo=True) failed (%s); using the "
                               "TorchScript-based exporter", first)  # fmt: skip
                blob = _onnx_bytes(wrapper, x, factor, False)
    except ImportError as exc:
        raise RuntimeError(
            f"ONNX export needs onnx and onnxscript ({exc}): pip install 'napari-vqseg[onnx]'"
        ) from None
    stem = stem or f"{Path(export).stem}-onnx"
    spec = _spec(member, data, "onnx", f"{stem}.onnx", hashlib.sha256(blob).hexdigest())
    return _write(Path(out), stem, ".onnx", blob, spec)


def _onnx_bytes(wrapper: nn.Module, x: torch.Tensor, factor: int, dynamo: bool) -> bytes:
    """The ONNX file of ``wrapper`` (batch and spatial sizes free, in multiples of ``factor``)."""
    names: dict[str, Any] = {"input_names": ["image"], "output_names": ["logits", "bottleneck"]}
    spatial = range(2, x.ndim)
    if dynamo:
        dims = {0: torch.export.Dim("batch", min=1, max=4096)}
        dims.update({a: factor * torch.export.Dim(f"s{a}", min=1, max=4096 // factor)
                     for a in spatial})  # fmt: skip
        program = torch.onnx.export(wrapper, (x,), None, dynamic_shapes=(dims,), dynamo=True,
                                    verbose=False, **names)  # fmt: skip
        assert program is not None  # no file given: the program is returned
        return program.model_proto.SerializeToString()
    axes = {0: "batch", **{a: f"s{a}" for a in spatial}}
    latent = {0: "batch", **{a: f"l{a}" for a in spatial}}
    buffer = io.BytesIO()
    torch.onnx.export(wrapper, (x,), buffer, dynamo=False, **names,  # type: ignore[arg-type]
                      dynamic_axes={"image": axes, "logits": axes, "bottleneck": latent})  # fmt: skip
    return buffer.getvalue()


def _summary(exc: BaseException) -> str:
    """The line of an exporter error that says what failed (its "Exception summary")."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for i, line in enumerate(lines[:-1]):
        if "Exception summary" in line:
            return lines[i + 1][:200]
    return (lines or [type(exc).__name__])[0][:200]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Exporting on purpose: no deprecation notes for TorchScript / the older ONNX exporter,
    no tracer notes for the network's shape checks (the loader pads to ``divisible_by``)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        yield


def parse_formats(text: str | Sequence[str]) -> list[str]:
    """The formats of ``"torchscript,onnx"`` (or a list), checked before any training: known
    names, and for ONNX the packages it needs.

    Raises:
        ValueError: an unknown format, or ONNX without onnx / onnxscript / onnxruntime
            (naming the extra to install).
    """
    import importlib.util

    items = text.split(",") if isinstance(text, str) else list(text)
    formats = list(dict.fromkeys(f.strip().lower() for f in items if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; known: {', '.join(FORMATS)}")
    if "onnx" in formats:
        missing = [m for m in ("onnx", "onnxscript", "onnxruntime")
                   if importlib.util.find_spec(m) is None]  # fmt: skip
        if missing:
            raise ValueError(
                f"ONNX export needs {', '.join(missing)}: pip install 'napari-vqseg[onnx]'"
            )
    return formats


def export_formats(
    export: str | Path, formats: Sequence[str], out: str | Path | None = None
) -> list[Path]:
    """Each of ``formats`` (``"torchscript"``, ``"onnx"``) of one export, into ``out`` (default:
    the export's folder); returns the YAMLs written.

    Raises:
        ValueError: an unknown format (naming the known ones), ONNX without its packages.
        CheckpointError: the export cannot be read.
    """
    formats = parse_formats(formats)
    folder = Path(out) if out is not None else Path(export).parent
    writers = {"torchscript": export_torchscript, "onnx": export_onnx}
    return [writers[f](export, folder) for f in dict.fromkeys(formats)]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vqseg_core.modelset.export_formats EXPORT.json --to torchscript,onnx``."""
    parser = argparse.ArgumentParser(
        prog="python -m vqseg_core.modelset.export_formats",
        description="TorchScript / ONNX copies of a vqseg-train export, each with the "
        "vqseg-model YAML that loads it as your own model.",
    )
    parser.add_argument("export", type=Path, help="a vqseg-train export (NAME.json)")
    parser.add_argument("--to", default="torchscript,onnx",
                        help="comma-separated formats: torchscript, onnx (default: both)")  # fmt: skip
    parser.add_argument("--out", type=Path, help="output folder (default: the export's)")
    args = parser.parse_args(argv)
    try:
        for path in export_formats(args.export, parse_formats(args.to), args.out):
            print(path)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
