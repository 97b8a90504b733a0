"""`companion-agent chat`: a conversation in the terminal, or over piped standard input."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO
from uuid import UUID

from companion.app.container import Container


async def run_chat(container: Container, user_id: UUID, *, stdin: TextIO, stdout: TextIO) -> int:
    """Greet, answer one reply per input line until EOF or /quit, then summarise."""
    interactive = stdin.isatty() and stdout.isatty()
    # Load the embedding model now, so missing weights fail before the greeting.
    await container.gateways.embedder().embed(["hello"])
    chat = container.services.chat()
    session = await chat.start(user_id)
    _say(stdout, session.greeting.text, interactive)
    try:
        while True:
            if interactive:
                stdout.write("you> ")
                stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            text = line.strip()
            if not text:
                continue
            if text in {"/quit", "/exit"}:
                break
            _say(stdout, await chat.turn(session, text), interactive)
    finally:
        # Summarise even on Ctrl+C, so the next greeting can pick up from here.
        await asyncio.shield(chat.end(session))
    return 0


def _say(stdout: TextIO, text: str, interactive: bool) -> None:
    stdout.write(f"companion> {text}\n" if interactive else f"{text}\n")
    stdout.flush()


def default_streams() -> tuple[TextIO, TextIO]:
    """Standard input and output, as the chat command uses them."""
    return sys.stdin, sys.stdout
