"""Runs a lab experiment, the same code as `firstepoch lab NAME` (python/firstepoch/lab/NAME.py).

    python examples/lab/run.py --list                  # the experiments, one line each
    python examples/lab/run.py gates                   # prints its results table, writes runs/lab/gates/gates.png
    python examples/lab/run.py all --out runs/lab      # every experiment, one folder each
    python examples/lab/run.py init --seed 1 --tiny    # another seed; the seconds-long configuration
"""
import sys

from firstepoch.lab import main

if __name__ == "__main__":
    sys.exit(main())
