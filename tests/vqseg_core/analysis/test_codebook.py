"""Codebook usage, perplexity, dead codes and the bound r."""

from __future__ import annotations

import math

import pytest
import torch

from vqseg_core.analysis import (
    bound_r,
    code_counts,
    codebook_stats,
    dead_codes,
    perplexity,
    used_codes,
)


def test_counts_used_and_dead() -> None:
    idx = torch.tensor([[0, 0, 3], [3, 3, 5]])
    assert code_counts(idx, 6).tolist() == [2, 0, 0, 3, 0, 1]
    assert used_codes(idx, 6) == 3
    assert dead_codes(idx, 6).tolist() == [1, 2, 4]


def test_perplexity_bounds() -> None:
    assert perplexity(torch.zeros(100, dtype=torch.long), 8) == pytest.approx(1.0)
    assert perplexity(torch.arange(8).repeat(10), 8) == pytest.approx(8.0, rel=1e-5)


def test_out_of_range_indices_raise() -> None:
    with pytest.raises(ValueError, match="indices"):
        code_counts(torch.tensor([0, 9]), 4)


def test_bound_r_on_a_known_grid() -> None:
    # codes on a line at 0, 1, 3, 7: nearest-neighbour distances 1, 1, 2, 4 -> mean 2 -> r = 1
    codebook = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [7.0, 0.0]])
    assert bound_r(codebook) == pytest.approx(1.0)
    # restricted to the used codes {0, 3}: distance 3 both ways -> r = 1.5 (plain L2, not squared)
    assert bound_r(codebook, torch.tensor([0, 3, 3])) == pytest.approx(3.5)
    assert math.isnan(bound_r(codebook, torch.tensor([2])))


def test_codebook_stats_reports_used_and_all() -> None:
    codebook = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [7.0, 0.0]])
    stats = codebook_stats(codebook, torch.tensor([0, 1, 1, 1]))
    assert (stats.codebook_size, stats.used, stats.dead) == (4, 2, 2)
    assert stats.r_used == pytest.approx(0.5)
    assert stats.r_all == pytest.approx(1.0)
    assert set(stats.as_dict()) == {
        "codebook_size",
        "used",
        "dead",
        "perplexity",
        "r_used",
        "r_all",
    }
