"""Bold in the Markdown tables marks only significant paired differences (CI excludes 0)."""

from __future__ import annotations

from vqseg_core.evaluation.tables import noise_table, shift_table

UNET = {0.0: [0.953, 0.950, 0.956], 10.0: [0.5, 0.7, 0.9], 20.0: [0.70, 0.72, 0.68]}
VQ = {0.0: [0.954, 0.949, 0.958], 10.0: [0.51, 0.71, 0.91], 20.0: [0.80, 0.81, 0.79]}


def _noise_rows(metric: str = "dice_mean", unet=UNET, vq=VQ) -> list[dict]:
    return [
        {"dataset": "d", "pair": "p", "model": model, "kind": "gaussian", "level": level,
         "case_id": f"c{i}", metric: v}
        for model, by_level in (("unet", unet), ("vqunet", vq))
        for level, values in by_level.items()
        for i, v in enumerate(values)
    ]  # fmt: skip


def _bold_cells(table: str) -> list[str]:
    """The bold value cells of the model rows (section headers are bold too: skipped)."""
    return [
        cell.strip().strip("*")
        for line in table.splitlines()
        if line.startswith(("| UNet |", "| VQ-UNet |"))
        for cell in line.split("|")
        if cell.strip().startswith("**")
    ]


def test_higher_mean_inside_the_noise_is_not_bold() -> None:
    # level 0: VQ-UNet mean higher (0.954 vs 0.953) but paired diffs +0.001, -0.001, +0.002
    table = noise_table(_noise_rows(), "gaussian")
    assert "0.954 ± 4.5e-03" in table
    assert not any(cell.startswith("0.954") for cell in _bold_cells(table))


def test_consistent_paired_difference_is_bold_even_when_the_marginal_cis_overlap() -> None:
    # level 10: means 0.70 vs 0.71 with sd 0.2 each, but every case gains exactly 0.01
    table = noise_table(_noise_rows(), "gaussian")
    bold = _bold_cells(table)
    assert any(cell.startswith("0.710 ± 0.200") for cell in bold)
    assert any(cell.startswith("0.800 ± 0.010") for cell in bold)  # level 20
    assert len(bold) == 2  # nothing for the UNet, nothing at level 0
    assert "95% CI that excludes 0" in table


def test_lower_hd95_is_bold_only_when_significant() -> None:
    unet = {0.0: [10.0, 12.0, 14.0], 20.0: [10.0, 12.0, 14.0]}
    vq = {0.0: [8.0, 9.0, 11.0], 20.0: [9.0, 13.0, 13.0]}
    table = noise_table(_noise_rows("hd95_mean", unet, vq), "gaussian", "hd95_mean")
    bold = _bold_cells(table)
    assert len(bold) == 1 and bold[0].startswith("9.333")


def test_paired_winner_needs_two_paired_finite_cases() -> None:
    from vqseg_core.evaluation.tables import paired_winner

    nan = float("nan")
    assert paired_winner({"a": 0.1}, {"a": 0.9}, lower=False) is None
    assert paired_winner({"a": 0.1, "b": nan}, {"a": 0.9, "b": 0.9}, lower=False) is None
    assert paired_winner({"a": 0.1, "b": 0.2}, {"a": 0.3, "b": 0.4}, lower=False) == "vqunet"
    assert paired_winner({"a": 0.1, "b": 0.2}, {"a": 0.3, "b": 0.4}, lower=True) == "unet"
    assert paired_winner({"a": 0.1, "b": 0.2}, {"a": 0.1, "b": 0.2}, lower=False) is None


def test_shift_table_bolds_only_significant_differences() -> None:
    rows = [
        {"pair": "p", "model": model, "role": role, "dataset": ds, "case_id": f"c{i}",
         "dice_mean": dice, "hd95_mean": hd}
        for model, role, ds, values in (
            ("unet", "in-domain", "home", [(0.95, 10.0), (0.90, 12.0), (0.93, 11.0)]),
            ("vqunet", "in-domain", "home", [(0.96, 12.0), (0.89, 10.0), (0.94, 11.5)]),
            ("unet", "shifted", "away", [(0.40, 100.0), (0.50, 90.0), (0.45, 95.0)]),
            ("vqunet", "shifted", "away", [(0.50, 80.0), (0.61, 71.0), (0.54, 74.0)]),
        )
        for i, (dice, hd) in enumerate(values)
    ]  # fmt: skip
    table = shift_table(rows)
    vq_line = next(line for line in table.splitlines() if line.startswith("| VQ-UNet"))
    unet_line = next(line for line in table.splitlines() if line.startswith("| UNet"))
    # in-domain: higher mean Dice (0.930 vs 0.927) and lower mean HD95 (11.17 vs 11.00 is
    # not lower) without a significant paired difference: no bold there
    assert vq_line.split("|")[2].strip() == "0.930" and "**" not in unet_line
    assert "**0.550**" in vq_line and "**75.00**" in vq_line


def test_shift_table_splits_a_shifted_set_by_its_source_domains() -> None:
    rows = [
        {"pair": "p", "model": model, "role": role, "dataset": ds, "domain": dom,
         "case_id": f"{dom}{i}", "dice_mean": dice, "hd95_mean": 5.0}
        for model in ("unet", "vqunet")
        for role, ds, dom, dice in (("in-domain", "home", "", 0.95), ("shifted", "away", "A", 0.8),
                                    ("shifted", "away", "B", 0.6))
        for i in range(3)
    ]  # fmt: skip
    table = shift_table(rows)
    header = next(line for line in table.splitlines() if line.startswith("|  |"))
    assert "home→away Dice" in header and "home→away / A Dice" in header
    assert "home→away / B Dice" in header
    unet = next(line for line in table.splitlines() if line.startswith("| UNet"))
    cells = [c.strip() for c in unet.split("|")[2:-1]]
    assert cells[2::2] == ["0.700", "0.800", "0.600"]  # pooled, then per domain
    assert "away / A 3" in table and "away 6" in table
