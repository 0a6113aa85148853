"""container: the pinned build environment as an image. The tasks (`docker-build`, `build
--in-docker`): task.py; the image plan, pure: plan.py. Nothing is imported here."""
