"""python -m firstepoch.lab ...: the same command line as `firstepoch lab ...`."""
import sys

from . import main

sys.exit(main())
