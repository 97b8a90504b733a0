"""Uplift AI adapters: realtime text-to-speech over Socket.IO."""

from companion.adapters.uplift.uplift_speech_synthesizer import (
    DEFAULT_BASE_URL,
    DEFAULT_VOICE_ID,
    MAX_TEXT_CHARS,
    OUTPUT_FORMATS,
    UpliftSpeechSynthesizer,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_VOICE_ID",
    "MAX_TEXT_CHARS",
    "OUTPUT_FORMATS",
    "UpliftSpeechSynthesizer",
]
