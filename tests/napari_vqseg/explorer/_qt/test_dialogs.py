"""The explorer's dialogs: a failed export is a plain message, never a traceback."""

from __future__ import annotations

import errno


def test_a_failed_export_is_said_in_plain_words(monkeypatch) -> None:
    from napari_vqseg.explorer._qt import dialogs

    said: list[str] = []

    class Explorer:
        def export(self, folder):
            raise PermissionError(errno.EACCES, "Permission denied", f"{folder}/metrics.csv")

        def report_problem(self, text: str) -> None:
            said.append(text)

    monkeypatch.setattr(dialogs.QFileDialog, "getExistingDirectory", lambda *a: "/read-only")
    dialogs.choose_export(Explorer())  # no exception escapes to napari's traceback dialog
    assert said == ["Could not write the report to /read-only: Permission denied "
                    "(/read-only/metrics.csv). Choose a folder you can write to, with free space."]  # fmt: skip
