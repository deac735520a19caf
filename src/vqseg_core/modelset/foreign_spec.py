"""The ``vqseg-model`` YAML beside your own network: what it is, its classes, its preprocessing.

Example (``my-unet.yaml`` next to ``my-unet.pt``)::

    format: vqseg-model
    type: torchscript            # torchscript | onnx | monai
    file: my-unet.pt             # relative to this YAML (monai: the state dict)
    name: My UNet
    spatial_dims: 2
    in_channels: 1
    classes: {1: lungs, 2: heart}
    recipe: chest_xray           # as a vqseg-train data config names it
    image_size: [256, 256]
    divisible_by: 16
    bottleneck: bottleneck       # optional: latent maps (see the README)

Every key is checked; an error names the YAML, the key and the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vqseg_core.modelset.foreign_net import TYPES, ForeignModelError
from vqseg_core.modelset.member import KEY_PATTERN

FORMAT = "vqseg-model"
FORMAT_VERSION = 1
SUFFIXES = (".yaml", ".yml")
MAX_YAML_BYTES = 1 << 20
MAX_NODES = 10_000  # values in the YAML (aliases counted each time they are used)
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYS = {
    "format", "format_version", "type", "file", "name", "key", "colour", "description",
    "spatial_dims", "in_channels", "classes", "recipe", "image_size", "patch_size",
    "divisible_by", "bottleneck", "logits", "monai", "sha256",
}  # fmt: skip


@dataclass(frozen=True)
class ForeignSpec:
    """A checked ``vqseg-model`` YAML.

    Attributes:
        path: the YAML.
        type: ``"torchscript"``, ``"onnx"`` or ``"monai"``.
        file: the network file (MONAI: its state dict), resolved against the YAML's folder.
        name, key, colour: display name, member key, hex colour (``None``: defaults).
        spatial_dims, in_channels: what the network takes.
        classes: label value -> name (background 0 implied).
        data: ``{"recipe", "image_size", "patch_size"}`` as a vqseg-train data config.
        divisible_by: per axis, the multiple inputs are padded to.
        bottleneck: the latent's module (MONAI), method (TorchScript) or output (ONNX).
        logits: the ONNX output holding the logits (``None``: ``logits``, else the first).
        monai_class, monai_args: the MONAI network (``monai.networks.nets``).
        sha256: the network file's expected sha256, or ``None``.
    """

    path: Path
    type: str
    file: Path
    name: str | None
    key: str | None
    colour: str | None
    spatial_dims: int
    in_channels: int
    classes: dict[int, str]
    data: dict[str, Any]
    divisible_by: tuple[int, ...]
    bottleneck: str | None = None
    logits: str | None = None
    monai_class: str | None = None
    monai_args: dict[str, Any] | None = None
    sha256: str | None = None

    @property
    def runs_code(self) -> bool:
        """TorchScript is code: load it only from a file the user chose."""
        return self.type == "torchscript"


def is_model_yaml(path: str | Path) -> bool:
    """Whether ``path`` is named like a ``vqseg-model`` YAML (``.yaml`` / ``.yml``)."""
    return Path(path).suffix.lower() in SUFFIXES


def read_spec(path: str | Path) -> ForeignSpec:
    """The checked spec of a ``vqseg-model`` YAML (nothing else is read).

    Raises:
        ForeignModelError: naming the YAML: not a regular file, too large, not YAML, not a
            ``vqseg-model`` file, or any key missing, unknown or of a bad value.
    """
    import yaml

    from vqseg_core.checkpoint import CheckpointError
    from vqseg_core.checkpoint.files import read_regular_file

    path = Path(path)
    try:
        raw = read_regular_file(path, max_bytes=MAX_YAML_BYTES, what="model YAML")
    except CheckpointError as exc:
        raise ForeignModelError(exc.path, exc.cause) from None
    try:
        doc = yaml.safe_load(raw.decode("utf-8"))
        if not isinstance(doc, dict):
            raise ForeignModelError(path, f"expected a mapping of keys ('format: {FORMAT}', ...)")
        _count(doc, path, [0])
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ForeignModelError(path, f"not a readable YAML file: {_one_line(exc)}") from None
    except RecursionError:
        raise ForeignModelError(path, "nested too deeply: not a model description") from None
    return _spec(path, doc)


def _spec(path: Path, doc: dict[Any, Any]) -> ForeignSpec:
    def bad(key: str, why: str) -> ForeignModelError:
        return ForeignModelError(path, f"key {key!r}: {why}, got {_show(doc.get(key))}")

    unknown = sorted(str(k) for k in doc if k not in _KEYS)
    if unknown:
        raise ForeignModelError(path, f"unknown keys {unknown}; known: {sorted(_KEYS)}")
    if doc.get("format") != FORMAT:
        raise bad("format", f"a vqseg-model YAML starts with 'format: {FORMAT}'")
    if doc.get("format_version", FORMAT_VERSION) != FORMAT_VERSION:
        raise bad("format_version", f"this version reads format_version {FORMAT_VERSION}")
    kind = doc.get("type")
    if kind not in TYPES:
        raise bad("type", f"must be one of {', '.join(TYPES)}")
    file = doc.get("file")
    if not isinstance(file, str) or not file.strip():
        raise bad("file", "must name the network file (relative to this YAML)")
    dims = doc.get("spatial_dims")
    if type(dims) is not int or dims not in (2, 3):
        raise bad("spatial_dims", "must be 2 or 3")
    channels = doc.get("in_channels", 1)
    if type(channels) is not int or not 1 <= channels <= 64:
        raise bad("in_channels", "must be an int in 1..64")
    data = _data(path, doc, dims)
    divisible = doc.get("divisible_by", 1)
    divisible = [divisible] * dims if type(divisible) is int else divisible
    if (not isinstance(divisible, list) or len(divisible) != dims
            or any(type(d) is not int or not 1 <= d <= 1024 for d in divisible)):  # fmt: skip
        raise bad("divisible_by", f"must be an int in 1..1024, or {dims} of them")
    spec = ForeignSpec(
        path=path, type=kind, file=(path.parent / file).absolute(),
        name=_text(doc, "name", bad), key=_text(doc, "key", bad, KEY_PATTERN),
        colour=_text(doc, "colour", bad, _COLOUR), spatial_dims=dims, in_channels=channels,
        classes=_classes(doc, bad), data=data, divisible_by=tuple(divisible),
        bottleneck=_text(doc, "bottleneck", bad), logits=_text(doc, "logits", bad),
        sha256=_text(doc, "sha256", bad, _SHA256),
    )  # fmt: skip
    _text(doc, "description", bad)  # checked; shown nowhere
    if kind == "monai":
        cls, args = _monai(doc, bad)
        return _replace(spec, monai_class=cls, monai_args=args)
    if "monai" in doc:
        raise bad("monai", f"only for 'type: monai' (this is 'type: {kind}')")
    if spec.logits is not None and kind != "onnx":
        raise bad("logits", "names an ONNX output: only for 'type: onnx'")
    return spec


def _replace(spec: ForeignSpec, **changes: Any) -> ForeignSpec:
    from dataclasses import replace

    return replace(spec, **changes)


def _data(path: Path, doc: dict[Any, Any], dims: int) -> dict[str, Any]:
    """``recipe`` / ``image_size`` / ``patch_size``, checked as a vqseg-train data config."""
    from vqseg_core.data.spec import DataConfig, recipe_for

    if not isinstance(doc.get("recipe"), str):
        raise ForeignModelError(
            path, f"key 'recipe': must name a preprocessing recipe, got {_show(doc.get('recipe'))}"
        )
    data = {k: doc[k] for k in ("recipe", "image_size", "patch_size") if doc.get(k) is not None}
    for key in ("image_size", "patch_size"):
        value = data.get(key)
        if value is not None and (not isinstance(value, list)
                                  or any(type(v) is not int or not 1 <= v <= 4096 for v in value)):  # fmt: skip
            raise ForeignModelError(
                path, f"key {key!r}: must be a list of sizes in 1..4096, got {_show(value)}"
            )
    try:
        recipe = recipe_for(DataConfig.from_dict(data))
    except (TypeError, ValueError) as exc:
        key = "image_size" if "image_size" in str(exc) or "target_shape" in str(exc) else "recipe"
        raise ForeignModelError(path, f"key {key!r}: {exc}") from None
    if dims > recipe.spatial_dims:
        raise ForeignModelError(
            path, f"key 'spatial_dims': a {dims}D network cannot take the {recipe.spatial_dims}D "
            f"images of recipe {recipe.name!r}"
        )
    patch = data.get("patch_size")
    if patch is not None and len(patch) != dims:
        raise ForeignModelError(
            path, f"key 'patch_size': must hold {dims} sizes (spatial_dims), got {_show(patch)}"
        )
    return data


def _classes(doc: dict[Any, Any], bad: Any) -> dict[int, str]:
    raw = doc.get("classes")
    why = "must map label values 1..255 to distinct names, e.g. {1: lungs, 2: heart}"
    if not isinstance(raw, dict) or not raw:
        raise bad("classes", why)
    out: dict[int, str] = {}
    for value, name in raw.items():
        if type(value) is not int or not 1 <= value <= 255:
            raise bad("classes", why + f" (label {value!r})")
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            raise bad("classes", why + f" (name {name!r})")
        out[value] = name.strip()
    if len({n.casefold() for n in out.values()}) != len(out):
        raise bad("classes", why + " (a name used twice)")
    return dict(sorted(out.items()))


def _monai(doc: dict[Any, Any], bad: Any) -> tuple[str, dict[str, Any]]:
    section = doc.get("monai")
    why = "must be {class: NAME, args: {...}} with NAME a class of monai.networks.nets"
    if not isinstance(section, dict) or set(section) - {"class", "args"}:
        raise bad("monai", why)
    cls, args = section.get("class"), section.get("args", {})
    if not isinstance(cls, str) or not _IDENT.fullmatch(cls) or cls.startswith("_"):
        raise bad("monai", why + f" (class {cls!r})")
    if not isinstance(args, dict) or not all(isinstance(k, str) and _IDENT.fullmatch(k)
                                             for k in args):  # fmt: skip
        raise bad("monai", why + " (args: keyword arguments by name)")
    return cls, args


def _text(doc: dict[Any, Any], key: str, bad: Any, pattern: re.Pattern[str] | None = None) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise bad(key, "must be a short text")
    if pattern is not None and not pattern.fullmatch(value):
        raise bad(key, f"must match {pattern.pattern}")
    return value.strip()


def _count(value: Any, path: Path, seen: list[int]) -> None:
    """Refuse YAML with more than :data:`MAX_NODES` values (alias bombs) or odd types."""
    seen[0] += 1
    if seen[0] > MAX_NODES:
        raise ForeignModelError(path, f"more than {MAX_NODES} values: not a model description")
    if isinstance(value, dict):
        for k, v in value.items():
            _count(k, path, seen)
            _count(v, path, seen)
    elif isinstance(value, list):
        for v in value:
            _count(v, path, seen)
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise ForeignModelError(path, f"unexpected value of type {type(value).__name__}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _one_line(exc: Exception) -> str:
    """A YAML or decoding error in one line (the problem and where)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(exc).split())[:200]
