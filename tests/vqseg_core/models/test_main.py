"""``python -m vqseg_core.models`` runs end to end."""

from __future__ import annotations

import re

from vqseg_core.models.__main__ import main


def test_summary_runs_and_reports_the_contract(capsys) -> None:
    assert main(["--size", "32"]) == 0
    out = capsys.readouterr().out
    assert "UNet:" in out and "VQUNet:" in out
    assert "indices (1, 2, 2)" in out
    differ = int(re.search(r"differs between the 2 images: (\d+)%", out).group(1))
    assert differ > 0
