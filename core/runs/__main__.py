"""``python -m core.runs list``: the runs in the run store, as JSON."""

import sys

from core.runs.store import main

sys.exit(main())
