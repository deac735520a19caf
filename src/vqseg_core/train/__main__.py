"""``python -m vqseg_core.train`` (used with ``torchrun``): the same as ``vqseg-train``."""

from vqseg_core.train.command import main

raise SystemExit(main())
