"""`invoke doctor` and friends in a tfbuild checkout: the tasks live in tfbuild/cli.py (the
installed `tfbuild` command runs the same Collection)."""

from tfbuild.cli import ns

__all__ = ["ns"]
