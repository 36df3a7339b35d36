"""``python -m fastrdd``: the interactive shell (see ``fastrdd.shell``)."""
import sys

from fastrdd.shell import main

if __name__ == "__main__":
    sys.exit(main())
