"""advisor: reads training logs, finds what went wrong, says what to change, verifies the advice."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`advisor.Monitor` without importing the pipeline for `advisor --help` (PEP 562)."""
    if name == "Monitor":
        from advisor.live.monitor import Monitor

        return Monitor
    raise AttributeError(f"module 'advisor' has no attribute {name!r}")
