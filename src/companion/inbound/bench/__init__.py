"""Benchmarks that run through the real services and stores: LoCoMo recall and latency."""
