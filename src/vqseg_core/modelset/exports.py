"""Members and sets from ``vqseg-train`` exports (``NAME.json`` + ``NAME.safetensors``).

An export carries everything a member needs: the model config (kind, architecture), the data
config it was trained with (recipe, image size, patch size, split) and the class names; the
weights' sha256 is checked on load (:func:`vqseg_core.weights.load_weights`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vqseg_core.modelset.member import PALETTE, Member, default_name, slug_key
from vqseg_core.modelset.model_set import MAX_MEMBERS, ModelSet


def read_export(path: str | Path) -> tuple[Any, dict[str, Any], str]:
    """``(network in eval mode, export config, sha256)`` of one export.

    Nothing is allocated for the network before its config has been checked: against the
    memory budget (:func:`~vqseg_core.models.budget.check_model_budget`, before the weights
    file is read) and against the number of values the weights file holds.

    Raises:
        CheckpointError: a missing, corrupt or foreign file, a path that is not a regular
            file, a config that is not a ``vqseg-train`` config, a network over the memory
            budget, or weights that do not fit the config (all naming the file).
    """
    from vqseg_core.checkpoint import CheckpointError, load_state_dict_strict
    from vqseg_core.models import build_model
    from vqseg_core.weights import read_weights, read_weights_meta

    path = Path(path)
    json_path, meta = read_weights_meta(path)
    _model_config(meta["config"], json_path)  # before the weights are read
    state, meta = read_weights(path)
    config = meta["config"]
    model_config = _model_config(config, json_path)
    try:
        data_spec(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(path, f"its config is not a vqseg-train config: {exc}") from exc
    _check_state_size(state, model_config, json_path)
    try:
        model = build_model(model_config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(path, f"its config is not a vqseg-train config: {exc}") from exc
    load_state_dict_strict(model, state, path)
    return model.eval(), config, str(meta["sha256"])


def _model_config(config: dict[str, Any], json_path: Path) -> Any:
    """The export's :class:`ModelConfig`, within the memory budget (``CheckpointError``)."""
    from vqseg_core.checkpoint import CheckpointError
    from vqseg_core.models import ModelConfig
    from vqseg_core.models.budget import MemoryBudgetError, check_model_budget

    try:
        model_config = ModelConfig.from_dict(dict(config["model"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(json_path, f"its config is not a vqseg-train config: {exc}") from exc
    try:
        check_model_budget(model_config)
    except MemoryBudgetError as exc:
        raise CheckpointError(json_path, str(exc)) from exc
    except ValueError as exc:
        raise CheckpointError(json_path, f"its config is not a vqseg-train config: {exc}") from exc
    return model_config


def _check_state_size(state: dict[str, Any], model_config: Any, json_path: Path) -> None:
    """Refuse weights whose number of values is not the one the config's network holds."""
    from vqseg_core.checkpoint import CheckpointError
    from vqseg_core.models.budget import model_state_numel

    try:
        floats, flags = model_state_numel(model_config)
    except (TypeError, ValueError, OverflowError):
        return  # not numbers: building the network says what is wrong
    found = sum(int(t.numel()) for t in state.values())
    if found != floats + flags:
        raise CheckpointError(
            json_path,
            f"its model config describes a network of {floats + flags} values, the weights "
            f"file holds {found}: the config and the weights do not belong together "
            "(nothing was built)",
        )


def data_spec(config: dict[str, Any]) -> Any:
    """The export's data config (recipe, image size, patch size, split), validated."""
    from vqseg_core.data.spec import DataConfig

    return DataConfig.from_dict(dict(config.get("data") or {}))


def member_from_export(
    path: str | Path,
    *,
    key: str | None = None,
    name: str | None = None,
    colour: str | None = None,
    position: int = 0,
) -> Member:
    """One :class:`Member` from an export, or from the YAML of your own network.

    Args:
        path: ``NAME.json`` or ``NAME.safetensors``; or a ``vqseg-model`` YAML (``.yaml``,
            ``.yml``) naming a TorchScript, ONNX or MONAI network
            (:func:`vqseg_core.modelset.foreign.member_from_yaml`).
        key: the member key (default: the model kind, e.g. ``"vqunet"``).
        name: display name (default: the kind's name, e.g. ``"VQ-UNet"``).
        colour: hex colour (default: the palette colour of ``position``).
        position: place in the set (picks the default colour).
    """
    from vqseg_core.data.spec import recipe_for
    from vqseg_core.modelset.foreign_spec import is_model_yaml

    if is_model_yaml(path):  # your own network: TorchScript (code: README), ONNX, MONAI
        from vqseg_core.modelset.foreign import member_from_yaml

        return member_from_yaml(path, key=key, name=name, colour=colour, position=position)

    model, config, sha = read_export(path)
    data = data_spec(config)
    kind = str(config["model"].get("kind", "vqunet"))
    classes = _classes(config, data, int(model.out_channels), Path(path))
    recipe = recipe_for(data)
    three_d = recipe.spatial_dims == 3 and int(model.spatial_dims) == 3
    patch = tuple(data.patch_size) if three_d and data.patch_size else None
    info = {"file": str(path), "validation_dice": config.get("validation_dice"),
            "export_name": Path(path).stem, "data": config.get("data")}  # fmt: skip
    return Member(
        key=key or slug_key(kind),
        name=name or default_name(kind, Path(path).stem),
        kind=kind,
        colour=colour or PALETTE[position % len(PALETTE)],
        model=model,
        sha256=sha,
        classes=classes,
        recipe=recipe,
        patch_size=patch,
        info=info,
    )


def _classes(config: dict[str, Any], data: Any, outputs: int, path: Path) -> dict[int, str]:
    """The export's classes (value -> name), each one an output of the network."""
    from vqseg_core.checkpoint import CheckpointError

    raw = config.get("classes") or data.labels
    try:
        classes = {int(k): str(v) for k, v in dict(raw).items()}
    except (TypeError, ValueError) as exc:
        raise CheckpointError(path, f"its classes are not value -> name pairs: {exc}") from exc
    outside = sorted(v for v in classes if not 1 <= v < outputs)
    if outside:
        raise CheckpointError(
            path,
            f"its classes {outside} are not outputs of the network, which has {outputs} "
            f"outputs (background 0 and classes 1..{outputs - 1}); classes: {classes}",
        )
    return classes


def set_from_files(
    paths: Sequence[str | Path],
    name: str | None = None,
    *,
    keys: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    info: dict[str, Any] | None = None,
) -> ModelSet:
    """A :class:`ModelSet` from 1-6 exports, in the order given.

    Keys default to each model's kind; when two files share a kind, the file stems are used
    (made into valid keys). Members may have different recipes (each is preprocessed its own
    way) but must take images of the same dimensionality.

    Raises:
        CheckpointError: a file is missing, corrupt or not a ``vqseg-train`` export.
        ValueError: no file, more than six, duplicate keys, or mixed dimensionality.
    """
    paths = [Path(p) for p in paths]
    if not 1 <= len(paths) <= MAX_MEMBERS:
        raise ValueError(f"give 1-{MAX_MEMBERS} model files, got {len(paths)}")
    members = [
        member_from_export(
            p,
            key=None if keys is None else keys[i],
            name=None if names is None else names[i],
            position=i,
        )
        for i, p in enumerate(paths)
    ]
    if keys is None:
        kinds = [m.key for m in members]
        if len(set(kinds)) != len(kinds):  # two of a kind: tell them apart by file name
            stems = [slug_key(p.stem) for p in paths]
            if len(set(stems)) != len(stems):
                stems = [f"{s}-{i + 1}" for i, s in enumerate(stems)]
            members = [_rekey(m, s) for m, s in zip(members, stems, strict=True)]
    names = [m.name for m in members]
    if len(set(names)) != len(names):  # tell two of a name apart
        members = [
            _rename(m, f"{m.name} ({p.stem})") if names.count(m.name) > 1 else m
            for m, p in zip(members, paths, strict=True)
        ]
    details = {"validation_dice": {m.key: m.info.get("validation_dice") for m in members}}
    details.update(info or {})
    return ModelSet(name or "+".join(p.stem for p in paths), tuple(members), details)


def _rekey(member: Member, key: str) -> Member:
    from dataclasses import replace

    return replace(member, key=key)


def _rename(member: Member, name: str) -> Member:
    from dataclasses import replace

    return replace(member, name=name)
