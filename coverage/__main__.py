"""``python -m coverage``: see :mod:`coverage.cli`."""

import sys

from coverage.cli import main

if __name__ == "__main__":
    sys.exit(main())
