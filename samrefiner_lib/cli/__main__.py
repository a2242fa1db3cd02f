"""``python -m samrefiner_lib.cli`` runs the command-line interface."""

import sys

from . import main

sys.exit(main())
