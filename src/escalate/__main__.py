"""``python -m escalate``: the same as the ``escalate`` command."""

from __future__ import annotations

import sys

from escalate.cli import main

sys.exit(main())
