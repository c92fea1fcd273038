"""The ``pyod-dsnf`` command line: argument parsing only, the work lives in the library.

:mod:`~pyod_dsnf.cli.main` builds the parser and dispatches; :mod:`~pyod_dsnf.cli.render`
and :mod:`~pyod_dsnf.cli.stream` add the ``render`` and ``stream`` / ``replay`` subcommands.
"""

from pyod_dsnf.cli.main import main

__all__ = ["main"]
