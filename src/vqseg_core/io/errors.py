"""The one error type raised for every image that cannot be loaded faithfully."""

from __future__ import annotations

from pathlib import Path


class ImageLoadError(ValueError):
    """An image file is missing, malformed, unsupported or over the memory budget.

    The message always names the file and the problem. The original low-level exception
    (``OSError``, ``EOFError``, ``zlib.error``, nibabel or SimpleITK errors, ...) is chained
    as ``__cause__``.

    Attributes:
        path: The file (or DICOM folder) that failed to load.
        problem: What is wrong with it, in words.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"cannot load image '{self.path}' ({self.path.name}): {problem}")
