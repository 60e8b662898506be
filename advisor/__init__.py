"""advisor: reads training logs, finds what went wrong, says what to change, verifies the advice."""

__version__ = "0.1.0"
