"""Lets this repository's Python scripts run as commands
(`scripts/quantize.py ...`): started by a Python that lacks the packages
they import (the system's python3), they restart under the venv that
scripts/setup.sh makes in .venv, with the same arguments."""

import os
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent.parent / ".venv"


def ensure(*modules: str) -> None:
    """Returns when `modules` import here; else restarts the script under
    .venv's python, or exits with what to do when that cannot help."""
    try:
        for module in modules:
            __import__(module)
        return
    except ImportError as err:
        missing = err.name
    python = VENV / "bin" / "python"
    if python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(python), [str(python), sys.argv[0], *sys.argv[1:]])
    sys.exit(
        f"{Path(sys.argv[0]).name}: the Python module '{missing}' is missing: "
        "run scripts/setup.sh (it installs it into .venv), or run this script with a Python that has it"
    )
