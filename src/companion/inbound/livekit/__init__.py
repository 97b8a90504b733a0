"""The LiveKit voice agent: CompanionAgent, its tools, its sessions and the agent server.

Importing this package imports LiveKit Agents (about a second): only the commands that
talk through the agent (``chat`` and the LiveKit commands) import it.
"""
