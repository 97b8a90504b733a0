"""Run the installed console script the way a user does: in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("companion-agent")
_CLOUD_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "DATABASE_URL",
    "SUPABASE_URL",
    "SUPABASE_SERVICE_ROLE_KEY",
    "REDIS_URL",
    "UPLIFTAI_API_KEY",
    "LIVEKIT_URL",
)

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """``run(*args, stdin=..., env=...)`` runs companion-agent with a private data dir."""
    assert SCRIPT.exists() or shutil.which("companion-agent"), "console script not installed"
    data_dir = tmp_path / "data"

    def _run(
        *args: str,
        stdin: str = "",
        env: dict[str, str] | None = None,
        data: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if k not in _CLOUD_ENV}
        full_env.update(env or {})
        argv = [str(SCRIPT), *args]
        if data and args and args[0] in {"chat", "memories", "onboard", "stats", "doctor", "users"}:
            argv += ["--data-dir", str(data_dir)]
        return subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            check=False,
        )

    return _run
