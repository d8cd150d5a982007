"""mgreason: micro-gesture based affective reasoning."""

__version__ = "0.1.0"
