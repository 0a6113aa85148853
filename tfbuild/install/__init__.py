"""`invoke install`: the built wheel into the user's own Python."""
