"""The one place the package version is written (pyproject reads it; both packages export it),
and the ``--version`` / defaults-in-help conventions every command follows."""

from __future__ import annotations

import argparse

__version__ = "0.2.0.dev0"


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that ends each option with its default, unless the text already says it or the
    default is empty (``None``, ``False``, ``[]``, ``()``, ``""``)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        empty = default is None or default is False or default == argparse.SUPPRESS
        empty = empty or (isinstance(default, str | list | tuple) and not default)
        if "default" in text or empty or (action.nargs == 0 and default is True):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


def command_conventions(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--version`` to a command's parser and show every option's default in ``--help``
    (its subcommands' too); returns the parser."""
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    todo = [parser]
    while todo:
        p = todo.pop()
        p.formatter_class = DefaultsHelpFormatter
        for action in p._actions:  # argparse keeps subcommands here, nowhere public
            if isinstance(action, argparse._SubParsersAction):
                todo.extend(action.choices.values())
    return parser
