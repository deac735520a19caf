"""Members and sets from ``vqseg-train`` exports (``NAME.json`` + ``NAME.safetensors``).

An export carries everything a member needs: the model config (kind, architecture), the data
config it was trained with (recipe, image size, patch size, split) and the class names; the
weights' sha256 is checked on load (:func:`vqseg_core.weights.load_weights`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vqseg_core.modelset.member import PALETTE, Member, default_name, slug_key
from vqseg_core.modelset.model_set import MAX_MEMBERS, ModelSet


def read_export(path: str | Path) -> tuple[Any, dict[str, Any], str]:
    """``(network in eval mode, export config, sha256)`` of one export.

    Raises:
        CheckpointError: a missing, corrupt or foreign file, or a config that is not a
            ``vqseg-train`` config.
    """
    from vqseg_core.checkpoint import CheckpointError, load_state_dict_strict
    from vqseg_core.models import ModelConfig, build_model
    from vqseg_core.weights import load_weights

    path = Path(path)
    state, config = load_weights(path)
    try:
        model = build_model(ModelConfig.from_dict(dict(config["model"])))
        data_spec(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(path, f"its config is not a vqseg-train config: {exc}") from exc
    load_state_dict_strict(model, state, path)
    sha = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["sha256"]
    return model.eval(), config, sha


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
    """One :class:`Member` from an export.

    Args:
        path: ``NAME.json`` or ``NAME.safetensors``.
        key: the member key (default: the model kind, e.g. ``"vqunet"``).
        name: display name (default: the kind's name, e.g. ``"VQ-UNet"``).
        colour: hex colour (default: the palette colour of ``position``).
        position: place in the set (picks the default colour).
    """
    from vqseg_core.data.spec import recipe_for

    model, config, sha = read_export(path)
    data = data_spec(config)
    kind = str(config["model"].get("kind", "vqunet"))
    classes = {int(k): str(v) for k, v in (config.get("classes") or data.labels).items()}
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
