"""`python -m tfbuild`: the same program as the `tfbuild` command (used inside the container,
where tfbuild is on PYTHONPATH but not installed)."""

from tfbuild.cli import main

main()
