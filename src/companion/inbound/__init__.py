"""The ways in: the console script (``cli``), the LiveKit agent (``livekit``) and the
benchmarks (``bench``). Each drives the core's use cases; none imports an adapter."""
