"""Uplift AI adapters: realtime text-to-speech over Socket.IO."""
