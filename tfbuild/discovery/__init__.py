"""discovery: everything that touches the machine. `discover()` (every fact, cached probes):
discover.py; the facts' types: facts.py; one module per kind of fact. Nothing is imported
here, so that importing discovery.facts runs no probe module."""
