"""`python -m cost`: see cost.cli."""

import sys

from cost.cli import main

sys.exit(main())
