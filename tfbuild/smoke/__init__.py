"""smoke: `invoke smoke-test`. The task: task.py; its pure checks: checks.py; the programs it
runs: resources/. Nothing is imported here."""
