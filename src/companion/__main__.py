"""``python -m companion`` runs the ``companion-agent`` console script."""

from __future__ import annotations

from companion.inbound.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
