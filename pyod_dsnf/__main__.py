"""``python -m pyod_dsnf``: the ``pyod-dsnf`` command line."""

import sys

from pyod_dsnf.cli import main

if __name__ == "__main__":
    sys.exit(main())
