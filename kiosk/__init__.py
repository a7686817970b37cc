"""Gatepass: the gate kiosk for residential compounds under lockdown."""

__version__ = "0.1.0"
