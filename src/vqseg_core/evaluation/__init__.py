"""Dataset-level robustness evaluation behind ``vqseg-eval`` (noise, latent, shift, report).

* :func:`~vqseg_core.evaluation.noise.run_noise` — Dice/HD95 under kinds x levels x draws (Table 3);
* :func:`~vqseg_core.evaluation.latent.run_latent` — latent variance and code flips (Table 2, Fig. 2);
* :func:`~vqseg_core.evaluation.shift.run_shift` — in-domain vs shifted datasets (Table 4);
* :func:`~vqseg_core.evaluation.report.build_report` — one self-contained HTML page.

Every command writes its cells to ``cells.jsonl`` as they finish (re-running into the same
folder skips them), is deterministic from its seed, and shards cases across ``torchrun``
processes (rank 0 gathers and writes; :mod:`~vqseg_core.evaluation.sharding`).
"""

from vqseg_core.evaluation.common import ModelSource, PairSource, case_seed, load_case, pair_id
from vqseg_core.evaluation.latent import run_latent
from vqseg_core.evaluation.noise import EvalResult, NoiseConfig, run_noise
from vqseg_core.evaluation.report import build_report
from vqseg_core.evaluation.selection import CaseSelection, dataset_name, select_cases
from vqseg_core.evaluation.sharding import Shard, setup_shard, teardown_shard
from vqseg_core.evaluation.shift import run_shift
from vqseg_core.evaluation.store import CellStore, cell_key

__all__ = [
    "CaseSelection",
    "CellStore",
    "EvalResult",
    "ModelSource",
    "NoiseConfig",
    "PairSource",
    "Shard",
    "build_report",
    "case_seed",
    "cell_key",
    "dataset_name",
    "load_case",
    "pair_id",
    "run_latent",
    "run_noise",
    "run_shift",
    "select_cases",
    "setup_shard",
    "teardown_shard",
]
