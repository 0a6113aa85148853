"""Profiles and settings: the model, value checking, and resolution with provenance."""

from tfbuild.settings.model import Settings, key_specs
from tfbuild.settings.resolve import ResolvedProfile, Source, available_profiles, resolve

__all__ = ["ResolvedProfile", "Settings", "Source", "available_profiles", "key_specs", "resolve"]
