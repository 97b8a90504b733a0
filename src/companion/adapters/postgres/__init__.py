"""PostgreSQL adapters (asyncpg, pgvector).

Stores for self-hosted PostgreSQL or Supabase's direct connection.
"""
