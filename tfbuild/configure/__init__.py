"""configure: the profile and the facts -> `.tf_configure.bazelrc`. The task: task.py (also
`run_configure` and `ConfigureResult`, which build and prefetch use); the rc content, pure:
plan.py; its rendering from the template: rcfile.py. Nothing is imported here."""
