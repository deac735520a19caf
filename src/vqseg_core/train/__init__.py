"""Training: ``vqseg-train`` is a thin command over :func:`train`.

Heavy imports happen in the submodules; ``import vqseg_core.train`` loads the configs only.
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
