"""LiveKit Agents adapters.

The ChatModel and SpeechSynthesizer ports as LiveKit's LLM and TTS.
"""
