"""`python -m rewardsmith` runs the CLI."""

import sys

from rewardsmith.cli import main

sys.exit(main())
