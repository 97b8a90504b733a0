"""The LiveKit agent server: one CompanionAgent per room, bound to the user who joined.

Job processes are separate processes, so everything they need is at module level and
read from the environment (the CLI exports its ``--data-dir``/``--log-level`` there):
:func:`entrypoint` builds its own container, binds the session to the participant's user
id (a UUID from their metadata or identity, nothing else), and registers the end of the
session as a shutdown callback, which LiveKit awaits before the process exits.
"""

from __future__ import annotations

import json
import logging
import os
from uuid import UUID

import structlog
from livekit.agents import AgentServer, JobContext, JobProcess
from livekit.agents.types import NOT_GIVEN
from livekit.agents.voice.room_io import RoomOptions

from companion.core.chat_service import ChatService
from companion.domain.errors import InvalidUserId
from companion.domain.validation import parse_user_id, resolve_user_ref
from companion.inbound.livekit.models import voice_llm, voice_stt, voice_tts
from companion.inbound.livekit.session import VoiceServices, VoiceSession, freeze_startup_heap
from companion.main.container import Container, build_container, shut_down
from companion.main.logging import configure_logging
from companion.main.operations import load_models
from companion.main.settings import Settings, load_settings

log = structlog.get_logger(__name__)

# The health server listens here unless settings name another host: a LiveKit agent
# needs no inbound connections from other machines.
DEFAULT_HEALTH_HOST = "127.0.0.1"
# `console --user U` hands the user to the in-process job through the environment.
CONSOLE_USER_ENV = "COMPANION_CONSOLE_USER"
# How long the end of a job may take to drain memory work before the process goes.
SHUTDOWN_DRAIN_SECONDS = 10.0
# LiveKit kills a job process that takes longer than this to shut down (its default is
# 10 s): the session's end may drain for 10 s and then summarise, so give it room.
SHUTDOWN_PROCESS_SECONDS = 3 * SHUTDOWN_DRAIN_SECONDS


def user_from_participant(identity: str, metadata: str | None) -> UUID:
    """The user a participant speaks for: ``user_id`` in their metadata, else their identity.

    Either must be a UUID; a participant who names no valid user gets no session.
    """
    if metadata and metadata.strip():
        try:
            data = json.loads(metadata)
        except ValueError:
            data = None
        if isinstance(data, dict) and "user_id" in data:
            return parse_user_id(data["user_id"])
    return parse_user_id(identity)


def voice_services(container: Container, *, chat: ChatService | None = None) -> VoiceServices:
    """The services an agent works through, from the container (``chat`` if given)."""
    services = container.services
    chat = chat if chat is not None else services.chat()
    return VoiceServices(
        chat=chat,
        turns=chat.turns,
        memories=services.memories(),
        profiles=services.profiles(),
        stats=services.stats(),
    )


def _setup(proc: JobProcess) -> None:
    """Once per job process: the companion's events logged as the CLI configured them."""
    settings = load_settings()
    root = logging.getLogger()
    # LiveKit's handlers forward the job's stdlib logs to the server process: keep them.
    handlers, level = list(root.handlers), root.level
    configure_logging(
        level=settings.companion.log_level,
        fmt=settings.companion.log_format,
        secrets=settings.secret_values(),
    )
    root.handlers[:], root.level = handlers, level
    proc.userdata["settings"] = settings


async def entrypoint(ctx: JobContext) -> None:
    """One room: wait for the user, bind the session to them, talk until they leave."""
    settings: Settings = ctx.proc.userdata.get("settings") or load_settings()
    container = build_container(settings)
    voice: VoiceSession | None = None

    async def end_job() -> None:
        # Awaited by LiveKit before the process exits (one callback, so nothing closes
        # under the session's end): the summary and next greeting are written, then
        # queued memory work drains; what does not is recovered on the next start.
        if voice is not None:
            await voice.aclose()
        await shut_down(container, within=SHUTDOWN_DRAIN_SECONDS)

    ctx.add_shutdown_callback(end_job)
    try:
        if ctx.is_fake_job():
            # `console`: no room and no participant; the CLI names the user.
            user_id, _name = resolve_user_ref(os.environ.get(CONSOLE_USER_ENV, ""))
            identity: str | None = None
        else:
            await ctx.connect()
            participant = await ctx.wait_for_participant()
            identity = participant.identity
            user_id = user_from_participant(participant.identity, participant.metadata)
    except InvalidUserId as exc:
        log.warning("participant_refused", reason=str(exc))
        ctx.shutdown(reason="no valid user id")
        return
    # Load the embedding model before the greeting, off the event loop, not on the
    # user's first turn.
    await load_models(container)
    tts_model = voice_tts(container)
    stt_model = voice_stt(container)
    voice = await VoiceSession.open(
        voice_services(container),
        user_id,
        llm=voice_llm(container),
        tts=tts_model,
        stt=stt_model,
    )
    freeze_startup_heap()
    # The user left (or the session failed): its end has begun; the job ends with it.
    voice.session.on("close", lambda _event: ctx.shutdown(reason="session closed"))
    await voice.session.start(
        voice.agent,
        room=ctx.room,
        room_options=RoomOptions(
            participant_identity=identity or NOT_GIVEN,
            audio_input=stt_model is not None,
            audio_output=tts_model is not None,
        ),
    )


def build_server(settings: Settings) -> AgentServer:
    """The agent server for ``start``/``dev``/``console``/``connect``."""
    # LIVEKIT_HEALTH_HOST opens it up (e.g. 0.0.0.0 for a container's health probe).
    host = settings.livekit.health_host or DEFAULT_HEALTH_HOST
    livekit = settings.livekit
    server = AgentServer(
        host=host,
        ws_url=livekit.url,
        api_key=livekit.api_key.get_secret_value() if livekit.api_key else None,
        api_secret=livekit.api_secret.get_secret_value() if livekit.api_secret else None,
        setup_fnc=_setup,
        shutdown_process_timeout=SHUTDOWN_PROCESS_SECONDS,
    )
    server.rtc_session(entrypoint)
    return server
