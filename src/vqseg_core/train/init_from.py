"""Start a run from trained weights (``init_from``): fine-tune a bundled or exported network.

``init_from`` names vqseg weights (what ``vqseg-train`` exports: ``NAME.json`` beside
``NAME.safetensors``) or a bundled model as ``SET/KEY`` (e.g. ``chest-xray/unet``). The
weights must be the run's own architecture: the model configs are compared field by field
(except :data:`QUANTISER_TRAINING`, how the codebook is looked up and trained) and the state
dict is loaded strictly, so a mismatch is refused with the fields that differ, before a step
is trained. Only a fresh run (step 0) is initialised this way; a resumed run continues
from its own checkpoint. The weights' sha256 is checked on load (:func:`read_weights`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vqseg_core.checkpoint import CheckpointError, load_state_dict_strict
from vqseg_core.models import ModelConfig

WEIGHT_SUFFIXES = (".json", ".safetensors")

QUANTISER_TRAINING = (
    "beta", "beta_on", "codebook_init", "dead_code_threshold", "cosine", "codebook_preset",
)  # fmt: skip
"""Model fields a fine-tune may change: how the codebook is looked up and trained, not the
weights' shapes (e.g. a collapsed codebook revived with the cosine lookup and dead-code
restarts). ``ema_decay`` is not among them: it adds buffers, so the state dict would differ."""


def is_weights_path(spec: str) -> bool:
    """Whether ``spec`` names a weights file (else a bundled ``SET/KEY``)."""
    return Path(spec).suffix in WEIGHT_SUFFIXES


def resolve_init(spec: str) -> Path:
    """The weights JSON that ``spec`` names: a file path, or a bundled ``SET/KEY``.

    Raises:
        ValueError: a bundled name that does not exist (the message lists the ones that do).
    """
    if is_weights_path(spec):
        return Path(spec)
    from vqseg_core.pretrained.registry import WEIGHTS_DIR, list_sets, set_info

    name, sep, key = spec.partition("/")
    if not sep or name not in list_sets():
        choices = ", ".join(f"{s}/{k}" for s in list_sets() for k in set_info(s).keys)
        raise ValueError(
            f"init_from {spec!r} is neither a weights file (.json / .safetensors) nor a "
            f"bundled model; bundled: {choices}"
        )
    info = set_info(name)
    if key not in info.keys:
        raise ValueError(f"init_from {spec!r}: set {name!r} has {', '.join(info.keys)}")
    return WEIGHTS_DIR / info.files[key]


def _differences(theirs: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    keys = sorted(set(theirs) | set(ours))
    return [f"{k}: weights {theirs.get(k)!r}, run {ours.get(k)!r}" for k in keys
            if theirs.get(k) != ours.get(k)]  # fmt: skip


def initialise(model: torch.nn.Module, spec: str, model_config: ModelConfig) -> str:
    """Load the weights ``spec`` names into ``model``; a line saying what was loaded.

    Raises:
        CheckpointError: unreadable or corrupt weights, another architecture (the differing
            fields), or a state dict that does not fit ``model``; ``model`` is unchanged.
        ValueError: an unknown bundled name.
    """
    from vqseg_core.weights import read_weights

    path = resolve_init(spec)
    state, meta = read_weights(path)
    try:
        theirs = ModelConfig.from_dict(dict(meta["config"]["model"])).to_dict()
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(path, f"no usable model config for init_from ({exc})") from None
    ours = model_config.to_dict()
    changed = [k for k in QUANTISER_TRAINING if theirs.get(k) != ours.get(k)]
    theirs.update({k: ours.get(k) for k in changed})
    if theirs != ours:
        diff = "; ".join(_differences(theirs, ours))
        raise CheckpointError(path, f"init_from weights are another architecture ({diff})")
    load_state_dict_strict(model, state, path)
    note = f"; quantiser settings changed: {', '.join(changed)}" if changed else ""
    return (f"initialised from {spec} ({meta.get('name', path.stem)}, "
            f"sha256 {meta['sha256'][:12]}){note}")  # fmt: skip
