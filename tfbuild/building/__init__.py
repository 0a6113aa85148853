"""building: the main job. The task (`build`, `run_build`): task.py; the build plan: plan.py;
the Bazel argv as data: command.py; the other steps and parts beside them (see
docs/development.md). Nothing is imported here."""
