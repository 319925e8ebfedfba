"""Process tuning for serving, checked in a process of its own (it changes the interpreter's state)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from provisionhub.runtime import YOUNG_GENERATION

CHECK = """
import gc
from provisionhub.app import create_app
from provisionhub.runtime import tune_for_serving
before = gc.get_threshold()
create_app()
tune_for_serving()
after = gc.get_threshold()
print(gc.get_freeze_count() > 1000, after[0], after[1:] == before[1:])
"""


def test_serving_freezes_what_is_loaded_and_widens_the_young_generation(tmp_path: Path) -> None:
    command = [sys.executable, "-c", CHECK]  # in tmp_path: the app's default database lives under ./var
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["True", str(YOUNG_GENERATION), "True"]
