"""companion: a voice AI companion that remembers the people it talks to.

Importing this package has no side effects: it builds no client, reads no settings and
imports no SDK. The composition root is :mod:`companion.main.container`; the console
script is ``companion-agent`` (also ``python -m companion``).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
