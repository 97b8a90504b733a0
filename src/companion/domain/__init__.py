"""The domain: pure models, validators, scoring and rules. No I/O, no SDKs."""
