"""The composition root: settings, logging, and the container that picks the adapters."""
