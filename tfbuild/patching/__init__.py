"""The notes' source fixes. The `patch` task: task.py; the fixes (targets, statuses, apply,
check, revert): fixes.py; engine.py (pure text), literals.py, records.py, shim.py, spec.py.
Nothing is imported here, so that importing one of them runs no other."""
