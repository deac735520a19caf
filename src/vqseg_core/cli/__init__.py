"""Command-line entry points: thin argparse parsers over the library API."""
