"""A checkpoint written before a config field existed still resumes (the field at its default)."""

from __future__ import annotations

import pytest

from vqseg_core.checkpoint import ConfigMismatchError, check_config_compatible
from vqseg_core.train.config import TrainConfig
from vqseg_core.train.loop import _json_config, _with_defaults


def test_fields_added_since_a_checkpoint_take_their_defaults() -> None:
    current = _json_config(TrainConfig())
    old = {**current, "model": {k: v for k, v in current["model"].items()
                                if k not in ("skip_codebook_size", "quantized_skips")}}  # fmt: skip
    with pytest.raises(ConfigMismatchError):
        check_config_compatible(old, current)
    assert _with_defaults(old) == current
    check_config_compatible(_with_defaults(old), current)


def test_a_changed_field_is_still_refused() -> None:
    current = _json_config(TrainConfig())
    changed = {**current, "model": {**current["model"], "codebook_size": 7}}
    with pytest.raises(ConfigMismatchError):
        check_config_compatible(_with_defaults(changed), current)
    assert _with_defaults({"model": {"no_such_key": 1}}) == {"model": {"no_such_key": 1}}
