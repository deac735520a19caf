"""Training: :func:`train` (the loop), its configs, and the ``vqseg-train`` command.

The command (parser and body) is :mod:`vqseg_core.train.command`, run by ``vqseg-train`` and by
``python -m vqseg_core.train``. The data spec a config holds (``DataConfig``, the recipe, the
split, case loading) lives in :mod:`vqseg_core.data`. Heavy imports happen in the submodules;
``import vqseg_core.train`` loads the configs only.
"""

from vqseg_core.train.config import (
    DataConfig,
    LoggingConfig,
    OptimConfig,
    ScheduleConfig,
    TrainConfig,
    config_from_dict,
    dump_config,
    load_config,
)

__all__ = [
    "DataConfig",
    "LoggingConfig",
    "OptimConfig",
    "ScheduleConfig",
    "TrainConfig",
    "config_from_dict",
    "dump_config",
    "load_config",
    "train",
]


def __getattr__(name: str):
    if name == "train":
        from vqseg_core.train.loop import train

        return train
    raise AttributeError(name)
