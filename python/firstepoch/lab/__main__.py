"""python -m firstepoch.lab ...: the same command line as `firstepoch lab ...`."""
import sys

from . import main

if __name__ == "__main__":  # importing this module (a sweep over every module) runs nothing
    sys.exit(main())
