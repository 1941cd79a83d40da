"""python -m firstepoch train|evaluate|info|lab: the same command line as `firstepoch`."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
