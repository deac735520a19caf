"""``curves.png`` from a run's ``log.jsonl``."""

from __future__ import annotations

import json

from vqseg_core.train.curves import read_log, write_curves


def _log(tmp_path, vq: bool):
    lines = []
    for step in range(1, 21):
        record = {"type": "train", "step": step, "loss": 2.0 / step, "seg_loss": 1.9 / step}
        if vq:
            record.update(vq_loss=0.1, used_codes=10 + step, perplexity=5.0 + step)
        lines.append(json.dumps(record))
        if step % 10 == 0:
            lines.append(json.dumps({"type": "val", "step": step, "dice": {"lungs": step / 25}}))
    lines.append('{"type": "train", "step": 21, "lo')  # cut by a kill
    (tmp_path / "log.jsonl").write_text("\n".join(lines), encoding="utf-8")


def test_read_log_skips_a_cut_line(tmp_path) -> None:
    _log(tmp_path, vq=True)
    train, val = read_log(tmp_path / "log.jsonl")
    assert [r["step"] for r in train] == list(range(1, 21))
    assert [r["dice"]["lungs"] for r in val] == [0.4, 0.8]


def test_curves_have_a_codebook_panel_only_for_vq(tmp_path) -> None:
    from PIL import Image

    for vq in (True, False):
        run = tmp_path / ("vq" if vq else "unet")
        run.mkdir()
        _log(run, vq)
        path = write_curves(run)
        assert path == run / "curves.png"
        width = Image.open(path).size[0]
        assert width == (1200 if vq else 800)  # three panels vs two


def test_no_records_no_picture(tmp_path) -> None:
    (tmp_path / "log.jsonl").write_text("", encoding="utf-8")
    assert write_curves(tmp_path) is None and not (tmp_path / "curves.png").exists()


def test_the_training_log_is_strict_json(tmp_path) -> None:
    """A NaN loss is written as null: strict JSON parsers read every line."""
    from vqseg_core.train.loop import _write_log

    with open(tmp_path / "log.jsonl", "w", encoding="utf-8") as log:
        _write_log(log, {"type": "train", "step": 1, "loss": float("nan"), "lr": 1e-4})
    line = (tmp_path / "log.jsonl").read_text(encoding="utf-8")
    assert "NaN" not in line and json.loads(line)["loss"] is None
