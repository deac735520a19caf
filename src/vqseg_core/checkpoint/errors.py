"""The one error type every checkpoint and weights problem is reported with."""

from __future__ import annotations

import os


class CheckpointError(ValueError):
    """A checkpoint or weights file cannot be written or trusted.

    The message names the file (when there is one) and the cause, e.g.
    ``"/runs/a/last.ckpt: sha256 mismatch (file is corrupt)"``.

    Attributes:
        path: the file concerned, or ``None`` (e.g. for an in-memory config comparison).
        cause: what is wrong, in words.
    """

    def __init__(self, path: str | os.PathLike[str] | None, cause: str) -> None:
        self.path = None if path is None else os.fspath(path)
        self.cause = cause
        super().__init__(cause if path is None else f"{self.path}: {cause}")

    def __reduce__(self) -> tuple[type, tuple[str | None, str]]:
        return type(self), (self.path, self.cause)


class UnsupportedValueError(CheckpointError, TypeError):
    """A value that is not a tensor or a primitive was about to be saved (message names the key path)."""


class ConfigMismatchError(CheckpointError):
    """A resume was attempted with a model or data config that differs from the saved one.

    Attributes:
        differences: ``(dotted key, saved value, current value)`` for each differing key.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        cause: str,
        differences: list[tuple[str, object, object]] | None = None,
    ) -> None:
        super().__init__(path, cause)
        self.differences = list(differences or [])

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:  # type: ignore[override]
        return type(self), (self.path, self.cause, self.differences)
