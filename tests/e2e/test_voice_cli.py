"""LiveKit's commands through companion-agent, and chat through the same agent."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from tests.e2e.conftest import SCRIPT, Run


@pytest.mark.parametrize("command", ["start", "dev", "connect"])
def test_without_a_livekit_server_it_fails_at_once_with_one_line(run: Run, command: str) -> None:
    result = run(command, timeout=60)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"companion-agent: error: `{command}` needs a LiveKit server")
    assert "LIVEKIT_URL" in lines[0]


def test_a_missing_key_and_secret_are_named(run: Run) -> None:
    result = run("start", env={"LIVEKIT_URL": "wss://livekit.example.org"}, timeout=60)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "LIVEKIT_API_KEY" in line and "LIVEKIT_API_SECRET" in line
    assert "LIVEKIT_URL," not in line


def test_livekit_options_pass_through_to_its_cli(run: Run) -> None:
    result = run("start", "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--url" in result.stdout and "--api-key" in result.stdout


def test_other_commands_still_reject_unknown_options(run: Run) -> None:
    result = run("memories", "list", "--user", "ada", "--room", "x")
    assert result.returncode == 2
    assert "--room" in result.stderr


def test_chat_through_the_agent_remembers_across_runs(run: Run) -> None:
    first = run("chat", "--user", "noor", stdin="I live in Lahore and I love chai.\n")
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    second = run("chat", "--user", "noor", stdin="Where do I live?\n")
    assert second.returncode == 0, second.stderr
    greeting, answer = second.stdout.strip().splitlines()
    assert greeting.startswith("Welcome back") and "Lahore" in answer
    assert second.stderr == ""


def test_the_agent_servers_health_endpoint_listens_on_localhost_only(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "OPENAI_"))}
    # A server that is never reachable: the agent keeps retrying it, which is enough here.
    env.update(
        LIVEKIT_URL="ws://127.0.0.1:9",
        LIVEKIT_API_KEY="devkey",
        LIVEKIT_API_SECRET="devsecret-devsecret-devsecret-00",
        COMPANION_DATA_DIR=str(tmp_path),
    )
    server = subprocess.Popen(
        [str(SCRIPT), "dev"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert server.stdout is not None
    try:
        listening = next((line for line in server.stdout if "HTTP server listening on" in line), "")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    assert "listening on 127.0.0.1:" in listening
