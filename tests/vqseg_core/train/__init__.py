"""Tests of vqseg_core.train (a package, so that test_config.py may share its name with models/)."""
