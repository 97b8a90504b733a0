"""Supabase adapters (supabase-py async client).

Stores over PostgREST, with the service-role key (backend only).
"""
