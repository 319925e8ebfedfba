"""`provisionhub demo`: a small, realistic world loaded into an empty database in one command, so that a
newcomer sees a populated hub: the dataset (world.yaml, read by dataset.py), its load through the
directory (loading.py) and the command (command.py)."""

from __future__ import annotations

from provisionhub.cli.demo.command import demo

__all__ = ["demo"]
