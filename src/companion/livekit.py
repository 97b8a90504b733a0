"""Memory for your own LiveKit agent: ``attach_memory`` and what it returns.

::

    from companion import Companion
    from companion.livekit import attach_memory

    memory = await attach_memory(session, agent, Companion.open(), user=participant)

Importing this module imports LiveKit Agents (about a second); ``import companion``
does not.
"""

from __future__ import annotations

from companion.inbound.livekit.attach import MEMORY_TOOLS, AttachedMemory, attach_memory
from companion.inbound.livekit.worker import user_from_participant

__all__ = ["MEMORY_TOOLS", "AttachedMemory", "attach_memory", "user_from_participant"]
