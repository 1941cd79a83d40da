"""The lab: small seeded experiments that show one idea each, print a results table and write a PNG.

    firstepoch lab --list                 # or: python -m firstepoch.lab --list
    firstepoch lab gates [--out DIR] [--seed N] [--tiny] [--threads N]
    firstepoch lab all

Each experiment is a module firstepoch.lab.<name> with NAME, DESCRIPTION and
run(out_dir, seed=0, tiny=False) -> {"table": str, "png": path, "metrics": {...}}: the default
configuration runs in under two minutes on two cores with the embedded MNIST digits; tiny=True is a
seconds-long one the tests use.
"""
import argparse
import importlib
import os
import sys
import time
import traceback

ORDER = ["quadratic", "backprop", "gates", "universal", "activations", "saturation", "optimizers", "init", "batchnorm",
         "regularization", "deepwide", "convolution", "curriculum", "vanishing", "exploding", "forecast",
         "sequence-models"]


def load(name):
    """The experiment module `name`; raises KeyError for a name not in ORDER and ImportError (or
    whatever importing it raised) for one that cannot be imported."""
    if name not in ORDER:
        raise KeyError(f"no lab experiment {name!r}; the experiments are: {', '.join(ORDER)}")
    module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")  # sequence-models: sequence_models.py
    for attr in ("NAME", "DESCRIPTION", "run"):
        if not hasattr(module, attr):
            raise ImportError(f"firstepoch.lab.{name} has no {attr}")
    return module


def experiments():
    """[(name, module or None, description or the reason it is unavailable)] in ORDER."""
    found = []
    for name in ORDER:
        try:
            module = load(name)
        except Exception as e:  # a module another change has not landed yet, or a broken one: say why
            found.append((name, None, f"unavailable: {type(e).__name__}: {e}"))
        else:
            found.append((name, module, module.DESCRIPTION))
    return found


def _list():
    rows = experiments()
    width = max(len(name) for name, _, _ in rows)
    for name, _, text in rows:
        print(f"{name.ljust(width)}  {text}")
    return 0


def _run_one(module, out_dir, seed, tiny):
    print(f"== lab {module.NAME} (seed {seed}{', tiny' if tiny else ''}) -> {out_dir}", flush=True)
    t0 = time.perf_counter()
    module.run(out_dir, seed=seed, tiny=tiny)
    print(f"== {module.NAME} done in {time.perf_counter() - t0:.1f} s", flush=True)


def main(argv=None):
    """Command line of the lab; returns the exit status (0 when every experiment asked for ran)."""
    parser = argparse.ArgumentParser(prog="firstepoch lab", description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", help=f"an experiment ({', '.join(ORDER)}) or 'all'")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument("--out", default=None,
                        help="folder for the figure (default runs/lab/NAME; with 'all', one subfolder each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="the seconds-long configuration the tests use")
    parser.add_argument("--threads", type=int, default=None, help="kernel threads (default: firstepoch's)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be at least 1, got {args.threads}")
        import firstepoch
        firstepoch.set_num_threads(args.threads)
    if args.list:
        return _list()
    if args.name is None:
        parser.print_usage(sys.stderr)
        print("firstepoch lab: give an experiment's name, 'all' or --list", file=sys.stderr)
        return 2
    if args.name != "all":
        try:
            module = load(args.name)
        except KeyError as e:
            print(f"firstepoch lab: {e.args[0]}", file=sys.stderr)
            return 2
        except Exception as e:
            print(f"firstepoch lab: {args.name} is unavailable: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        _run_one(module, args.out or os.path.join("runs", "lab", args.name), args.seed, args.tiny)
        return 0
    failed = []
    for name, module, text in experiments():
        if module is None:
            print(f"== lab {name}: {text}", file=sys.stderr)
            failed.append(name)
            continue
        try:
            _run_one(module, os.path.join(args.out or os.path.join("runs", "lab"), name), args.seed, args.tiny)
        except Exception:
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"firstepoch lab all: {len(failed)} of {len(ORDER)} did not run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
