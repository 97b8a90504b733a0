"""The README's library example, run as a user runs it: a script, in a fresh process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
_CLOUD_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DATABASE_URL", "SUPABASE_URL", "REDIS_URL")


def readme_block(heading: str) -> str:
    """The first Python block under ``heading`` in the README."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, f"no python block under {heading!r}"
    return match.group(1)


def test_the_readme_library_example_remembers_and_recalls(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(readme_block("### As a library"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in _CLOUD_ENV}
    env["COMPANION_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "learned: ['Lives in Lahore', 'Loves chai']"
    assert lines[1].startswith("Lives in Lahore ")  # the best hit, with its score and date
    assert "Last time you told me that you live in Lahore" in lines[-1]
    assert done.stderr == ""  # a library prints nothing of its own
