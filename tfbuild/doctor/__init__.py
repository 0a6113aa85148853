"""doctor: what is on this machine and what is missing. The task: task.py; the row types:
rows.py; the checks (pure over settings and facts): checks.py, cache_keys.py; the report:
report.py. Nothing is imported here, so that importing one of them runs no other."""
