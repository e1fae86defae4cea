"""Chaos Toolkit controls (``configure_control``/``before_*``/``after_*`` hook modules)."""
