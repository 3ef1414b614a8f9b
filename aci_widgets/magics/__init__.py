"""``%aci`` / ``%%aci``: the IPython magics (``core.AciMagics``), their commands (``commands.py``,
``sweep_commands.py``), the line parser (``parser.py``) and what they show (``display.py``).

Loading stays cheap (``%load_ext aci_widgets``): no Azure SDK, pandas or ipywidgets until a command runs.
"""

from __future__ import annotations

from .core import AciMagics, register, unregister

__all__ = ["AciMagics", "register", "unregister"]
