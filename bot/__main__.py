"""`python -m bot` is the same as the `casebook` command."""

import sys

from bot.cli import main

sys.exit(main())
