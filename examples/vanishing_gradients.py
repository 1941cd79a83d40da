"""Vanishing and exploding gradients through time: |dLoss/dh_t| for every step of a 100-step sequence,
for a vanilla RNN (small and large recurrent weights) and an LSTM, and clip_grad_norm_ on the explosion.

    python examples/vanishing_gradients.py [--out vanishing.png] [--seed 0] [--tiny]

Prints the table and writes the log-scale plot. The experiment itself (how dLoss/dh_t is read, the
configurations) lives in firstepoch.lab.vanishing, which `firstepoch lab vanishing` runs too.
"""
import argparse
import os
import sys

from firstepoch.lab import vanishing


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="vanishing.png", help="path of the PNG to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiny", action="store_true", help="a smaller batch (seconds)")
    args = p.parse_args(argv)
    data = vanishing.compute(args.seed, args.tiny)
    print(vanishing.make_table(data))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    vanishing.make_figure(data).savefig(args.out, dpi=100)
    print(f"figure: {args.out}")
    rnn_small, rnn_large, _, lstm = data["runs"]
    vanishes = rnn_small["norms"][0] < 1e-6 * rnn_small["norms"][-2]
    explodes = rnn_large["norms"][0] > 1e3 * rnn_large["norms"][-2]
    lstm_keeps = lstm["norms"][0] > 1e-2 * lstm["norms"][-2]
    print(f"RNN gradient vanishes with small weights: {vanishes}; explodes with large ones: {explodes}; "
          f"LSTM (forget bias log T) keeps it: {lstm_keeps}")
    return 0 if vanishes and explodes and lstm_keeps else 1


if __name__ == "__main__":
    sys.exit(main())
