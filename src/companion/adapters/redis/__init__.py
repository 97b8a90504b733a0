"""Redis adapters (redis.asyncio): the shared cache."""
