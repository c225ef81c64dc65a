import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # the project is not necessarily pip-installed in the venv
    sys.path.insert(0, str(_ROOT))
