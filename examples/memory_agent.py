"""Your own LiveKit agent, with the companion's memory.

Run it as any LiveKit agent (``python examples/memory_agent.py dev``, with LIVEKIT_URL,
LIVEKIT_API_KEY, LIVEKIT_API_SECRET and OPENAI_API_KEY set). The participant who joins
names the user: ``user_id`` in their metadata, else their identity (a UUID). Memory is
kept where the companion's settings say (the embedded SQLite store by default, or
DATABASE_URL / SUPABASE_URL; see the README).
"""

from __future__ import annotations

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, cli
from livekit.plugins import openai

from companion import Companion
from companion.livekit import attach_memory


class Assistant(Agent):
    """An agent of your own: its instructions, its LLM, its tools."""

    def __init__(self) -> None:
        super().__init__(instructions="You are a friendly voice assistant. Answer briefly.")


server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    companion = Companion.open()
    ctx.add_shutdown_callback(companion.aclose)  # summarises the session, then closes
    await ctx.connect()
    session = AgentSession(llm=openai.LLM(model="gpt-4o-mini"), stt=openai.STT(), tts=openai.TTS())
    agent = Assistant()
    # The three lines: memory for the participant, the greeting, the memory tools.
    participant = await ctx.wait_for_participant()
    await attach_memory(session, agent, companion, user=participant, greet=True, tools=True)
    await session.start(agent, room=ctx.room)


if __name__ == "__main__":
    cli.run_app(server)
