"""`companion-agent chat`: a conversation in the terminal, or over piped standard input.

It talks to the same CompanionAgent as a LiveKit room does, through an AgentSession in
text mode, so there is one conversation loop. LiveKit Agents takes about a second to
import: it loads on a thread while the embedding model loads and the greeting is shown.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from typing import TextIO
from uuid import UUID

from companion.main.container import Container
from companion.main.operations import load_models


async def run_chat(container: Container, user_id: UUID, *, stdin: TextIO, stdout: TextIO) -> int:
    """Greet, answer each input line until EOF or /quit, then summarise."""
    interactive = stdin.isatty() and stdout.isatty()
    loading = asyncio.ensure_future(
        asyncio.to_thread(importlib.import_module, "companion.inbound.livekit.worker")
    )
    try:
        # Load the embedding model now (off the event loop), so missing weights fail
        # before the greeting.
        await load_models(container)
        # The greeting needs no model and no LiveKit: show it while LiveKit loads.
        chat = container.services.chat()
        conversation = await chat.start(user_id)
        _say(stdout, conversation.greeting.text, interactive)
    finally:
        await loading
    from companion.inbound.livekit.models import voice_llm
    from companion.inbound.livekit.session import VoiceSession, freeze_startup_heap
    from companion.inbound.livekit.worker import voice_services

    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # LiveKit logs a traceback for a failed turn; here it is one line on stderr instead.
        logging.getLogger("livekit").setLevel(logging.CRITICAL)
    try:
        voice = await VoiceSession.open(
            voice_services(container, chat=chat),
            user_id,
            llm=voice_llm(container),
            conversation=conversation,
        )
    except BaseException:
        await asyncio.shield(chat.end(conversation))
        raise
    freeze_startup_heap()
    try:
        await voice.start_text()  # the agent says the greeting shown above
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
            for said in await voice.send(text):
                _say(stdout, said, interactive)
    finally:
        # Summarise even on Ctrl+C, so the next greeting can pick up from here.
        await voice.aclose()
    return 0


def _say(stdout: TextIO, text: str, interactive: bool) -> None:
    stdout.write(f"companion> {text}\n" if interactive else f"{text}\n")
    stdout.flush()


def default_streams() -> tuple[TextIO, TextIO]:
    """Standard input and output, as the chat command uses them."""
    return sys.stdin, sys.stdout
