"""Redis adapters (redis.asyncio): the shared cache."""

from __future__ import annotations

from companion.adapters.redis.redis_cache import MAX_KEY_BYTES, RedisCache

__all__ = ["MAX_KEY_BYTES", "RedisCache"]
