"""OfflineChatModel: the chat model used when no LLM is configured.

It does not converse; it remembers. It answers questions about the user from the
memories in the request, acknowledges facts it can extract, and otherwise says plainly
that it is offline. Every reply is a pure function of the request, so the same request
always gets the same reply.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Sequence

from companion.adapters.local.answering import acknowledge, answer_question
from companion.adapters.local.extraction import extract_candidates
from companion.adapters.local.questions import parse_question
from companion.adapters.local.session_facts import with_session_facts
from companion.domain.errors import InvalidInput
from companion.domain.models import (
    ChatRequest,
    Memory,
    MemoryCandidate,
    ProfileDraft,
    Role,
    UserProfile,
)
from companion.domain.profiles import draft_from_memories
from companion.ports.chat_model import ChatModel

__all__ = ["OfflineChatModel"]

_GREETING = re.compile(
    r"^(?:hi|hello|hey|hiya|howdy|yo|good\s+(?:morning|afternoon|evening)|"
    r"(?P<salam>sala+m|as+alam\w*(?:\s*(?:o|u|wa)?\s*alaikum)?|aoa|"
    "\u0627\u0644\u0633\u0644\u0627\u0645\\s+\u0639\u0644\u06cc\u06a9\u0645|\u0633\u0644\u0627\u0645))"
    r"(?:\s+(?:there|companion|friend|again))?[\s!.,]*$",
    re.IGNORECASE,
)
_THANKS = re.compile(r"^(?:thanks|thank\s+you|thx|shukriya)\b[^?]*$", re.IGNORECASE)
_GOODBYE = re.compile(
    r"^(?:bye|goodbye|good\s*night|see\s+you|talk\s+later)\b[^?]*$", re.IGNORECASE
)
# A sentence ends after terminal punctuation and the spaces that follow it; keeping the
# spaces with the sentence makes the pieces join back into the exact reply.
_SENTENCE_END = re.compile(r"[.!?\u2026]+\s+")

_OFFLINE = (
    "I'm running offline right now, so I can't look things up or hold a full conversation"
    " \u2014 but I can remember what you tell me about yourself, like your name, your pets"
    " or your favourite things.",
    "I'm in offline mode, so my replies are simple. Tell me about yourself and I'll"
    " remember it, and you can ask me later what I know about you.",
    "Right now I'm working offline and can't answer general questions. I can keep track of"
    " things you tell me about yourself and remind you of them when you ask.",
)
_HELLO = (
    "Hello{name}! It's good to hear from you. I'm in offline mode today, but tell me about"
    " yourself and I'll remember it.",
    "Hi{name}! I'm running offline, so I keep things simple \u2014 I'm listening, and I'll"
    " remember what you tell me about yourself.",
)
_SALAM = "Wa alaikum assalam{name}! I'm in offline mode today, but I'm listening."


class OfflineChatModel(ChatModel):
    """A deterministic chat model that needs no network: memory in, honest answers out."""

    @property
    def name(self) -> str:
        """The model's name, for logs and stats."""
        return "offline"

    async def reply(self, request: ChatRequest) -> str:
        """The whole reply to the last user message."""
        return _compose(request)

    async def stream_reply(self, request: ChatRequest) -> AsyncIterator[str]:
        """The reply sentence by sentence; the pieces join into exactly :meth:`reply`."""
        text = _compose(request)
        start = 0
        for end in (found.end() for found in _SENTENCE_END.finditer(text)):
            yield text[start:end]
            start = end
        if start < len(text):
            yield text[start:]

    async def extract_memories(
        self, text: str, known: Sequence[Memory] = ()
    ) -> list[MemoryCandidate]:
        """Memories worth keeping from one user utterance (possibly none).

        ``known`` is not needed: the patterns key every memory by the slot it fills, and
        reconciliation matches keys.
        """
        return extract_candidates(text)

    async def build_profile(self, profile: UserProfile, memories: Sequence[Memory]) -> ProfileDraft:
        """The deterministic merge of the memories' slots (name, likes, goals, favourites)."""
        return draft_from_memories(profile, memories)


def _compose(request: ChatRequest) -> str:
    said = next((m.content for m in reversed(request.messages) if m.role is Role.USER), None)
    if said is None:
        raise InvalidInput("the chat request has no user message to reply to")
    text = " ".join(said.split())
    if not text:
        return "I didn't catch that \u2014 could you say it again?"
    question = parse_question(text)
    if question is not None:
        # What this session said is the newest word, stored or not yet (see session_facts).
        return answer_question(question, with_session_facts(request), request.profile)
    candidates = extract_candidates(text)
    if candidates:
        return acknowledge(candidates, request.profile)
    return _small_talk(text, request.profile)


def _small_talk(text: str, profile: UserProfile | None) -> str:
    """What to say when there is nothing to answer and nothing to remember."""
    known = (profile.display_name or profile.name) if profile else None
    name = f", {known}" if known else ""
    greeting = _GREETING.match(text)
    if greeting and greeting["salam"]:
        return _SALAM.format(name=name)
    if greeting:
        return _pick(_HELLO, text).format(name=name)
    if _THANKS.match(text):
        return f"You're welcome{name}!"
    if _GOODBYE.match(text):
        return f"Goodbye{name}! Talk to you soon."
    return _pick(_OFFLINE, text)


def _pick(phrasings: tuple[str, ...], text: str) -> str:
    # A stable hash (not hash(), which is salted per process) so the same words always
    # get the same phrasing, on every run and every machine.
    digest = hashlib.sha1(text.casefold().encode("utf-8"), usedforsecurity=False).digest()
    return phrasings[digest[0] % len(phrasings)]
