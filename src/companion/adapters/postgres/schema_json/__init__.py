"""The JSON form of the companion schema's rows, for the adapters that speak it.

Supabase's PostgREST API reads and writes rows as JSON, and the write-batch function
(``companion_apply_writes``, migration 0005) takes its rows as ``jsonb``, so the
Supabase and PostgreSQL adapters share one encoding and its boundary checks.
"""
