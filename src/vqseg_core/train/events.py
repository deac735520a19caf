"""TensorBoard event files of a training run, beside ``log.jsonl`` (when TensorBoard is installed).

``vqseg-train`` writes every record of ``log.jsonl`` also as TensorBoard scalars into
``RUN/tensorboard/`` when the ``tensorboard`` package is importable (``pip install tensorboard``;
``torch.utils.tensorboard`` needs it): ``train/loss``, ``train/seg_loss``, ``train/lr``,
``train/used_codes``, ``train/perplexity``, ... per step, and ``val/dice/<class>`` at each
validation. Look at them with ``tensorboard --logdir RUN`` (or a folder of runs).

Without the package nothing changes, and the run says nothing about it; ``log.jsonl`` and
``curves.png`` are always written. Opt out with the environment variable
``VQSEG_TENSORBOARD=0`` (docs/training.md). A resumed run opens new event files with
``purge_step`` at its starting step, so TensorBoard drops the steps the resumed run redoes,
as ``log.jsonl`` is cut back to the checkpoint.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from pathlib import Path
from typing import IO, Any

__all__ = [
    "ENV_OPT_OUT",
    "TensorBoardLog",
    "open_log",
    "scalars",
    "tensorboard_enabled",
    "with_tensorboard",
]

ENV_OPT_OUT = "VQSEG_TENSORBOARD"
"""Environment variable: ``0``, ``false``, ``no`` or ``off`` turns the event files off."""

EVENTS_DIR = "tensorboard"
"""Sub-folder of the run folder that holds the event files."""


def tensorboard_enabled() -> bool:
    """Whether event files are written: the package is importable and not opted out."""
    if os.environ.get(ENV_OPT_OUT, "").strip().lower() in {"0", "false", "no", "off"}:
        return False
    return importlib.util.find_spec("tensorboard") is not None


class TensorBoardLog:
    """The ``log.jsonl`` file of a run that also writes each record as TensorBoard scalars.

    Has the file methods the training loop uses (``write``, ``flush``, ``close``); every other
    attribute is the file's.
    """

    def __init__(self, log: IO[str], writer: Any) -> None:
        """Wrap the open ``log`` file and a ``torch.utils.tensorboard.SummaryWriter``."""
        self._log = log
        self._writer = writer

    def write(self, text: str) -> int:
        """Write ``text`` (JSON records, one a line) to the log and their scalars to TensorBoard."""
        written = self._log.write(text)
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                self._add_record(record)
        return written

    def _add_record(self, record: dict[str, Any]) -> None:
        """Scalars of one record under ``<type>/<key>`` (nested keys joined by ``/``)."""
        step = record.get("step")
        if not isinstance(step, int):
            return
        prefix = str(record.get("type", "log"))
        for tag, value in scalars(record, prefix):
            self._writer.add_scalar(tag, value, global_step=step)

    def flush(self) -> None:
        """Flush the log (the loop does after every record); the events every few seconds."""
        self._log.flush()

    def close(self) -> None:
        """Close the log and the event file."""
        try:
            self._log.close()
        finally:
            self._writer.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)


def scalars(record: dict[str, Any], prefix: str) -> list[tuple[str, float]]:
    """``(tag, value)`` of every finite number in ``record`` but ``type`` and ``step``.

    Nested mappings (``dice`` per class) give ``prefix/dice/lungs``; ``null`` (a NaN in the
    strict log), strings and booleans are left out.
    """
    out: list[tuple[str, float]] = []
    for key, value in record.items():
        if key in {"type", "step"}:
            continue
        tag = f"{prefix}/{key}"
        if isinstance(value, dict):
            out += scalars({str(k): v for k, v in value.items()}, tag)
        elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            out.append((tag, float(value)))
    return out


def with_tensorboard(log: IO[str] | None, run: str | Path, start: int) -> Any:
    """``log``, wrapped in :class:`TensorBoardLog` when :func:`tensorboard_enabled`.

    Args:
        log: the run's open ``log.jsonl`` (``None`` on ranks other than 0: returned as is).
        run: the run folder; the events go to ``run/tensorboard/``.
        start: the step the run starts after (``purge_step`` for a resumed run; 0 when new).
    """
    if log is None or not tensorboard_enabled():
        return log
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(
        log_dir=str(Path(run) / EVENTS_DIR),
        purge_step=start + 1 if start > 0 else None,
        flush_secs=10,
    )
    return TensorBoardLog(log, writer)


def open_log(path: str | Path, start: int) -> Any:
    """Open a run's ``log.jsonl`` for appending, with TensorBoard events beside it when enabled.

    The training loop's one call: :func:`with_tensorboard` of the opened file, ``run`` being the
    log's folder.
    """
    log = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed by the training loop)
    return with_tensorboard(log, Path(path).parent, start)
