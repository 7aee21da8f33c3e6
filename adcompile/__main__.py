"""``python -m adcompile``: see :mod:`adcompile.cli`."""

import sys

from .cli import main

sys.exit(main(prog="python -m adcompile"))
