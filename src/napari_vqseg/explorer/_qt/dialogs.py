"""The explorer's file dialogs: model files, the report folder, settings to import."""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import QFileDialog


def choose_files(widget: Any) -> None:
    """Pick vqseg-train exports or model YAMLs; they join the controls' model files."""
    files, _ = QFileDialog.getOpenFileNames(
        widget, "vqseg-train exports or your own models (several at once)", "",
        "Models (*.json *.safetensors *.yaml *.yml);;vqseg-train exports (*.json "
        "*.safetensors);;Your own models: vqseg-model YAML (*.yaml *.yml)",
    )  # fmt: skip
    if files:
        widget.controls.set_files(files)


def choose_export(widget: Any) -> None:
    """Pick a folder and export the report there."""
    folder = QFileDialog.getExistingDirectory(widget, "Export report to folder")
    if not folder:
        return
    try:
        widget.export(folder)
    except OSError as err:  # a plain message, never a traceback
        from napari_vqseg.explorer.report import export_failure

        widget.report_problem(export_failure(err, folder))


def choose_import(widget: Any) -> None:
    """Pick a ``settings.json`` and restore the controls from it."""
    path, _ = QFileDialog.getOpenFileName(
        widget, "Import settings", "", "Settings (settings.json *.json)"
    )
    if path:
        try:
            widget.import_settings(path)
        except ValueError as err:
            widget._report_error(err)
