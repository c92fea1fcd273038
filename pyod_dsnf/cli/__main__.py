"""``python -m pyod_dsnf.cli``: the same as the ``pyod-dsnf`` command."""

import sys

from pyod_dsnf.cli.main import main

sys.exit(main())
