"""The one place the package version is written (pyproject reads it; both packages export it)."""

__version__ = "0.2.0.dev0"
