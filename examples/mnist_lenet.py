"""LeNet-5 learns MNIST digits (the embedded 8,000 train / 1,000 validation digits) with the training
package, from Python: the recipe `firstepoch train` runs (SGD with Nesterov momentum, a one-cycle
schedule), its loop, and with --out its checkpoints and reports. (examples/mnist_mlp.py writes the loop
out by hand.)

    python examples/mnist_lenet.py [--epochs 8] [--batch-size 64] [--lr 0.05] [--threads N] [--out DIR]

Prints the training and validation loss and accuracy of every epoch, then the test accuracy; exits
non-zero below 98% validation accuracy.
"""
import argparse
import sys

import firstepoch as fe
from firstepoch.train import Trainer


# the recipe's keys this example sets (firstepoch.train.default_config has the rest); each is also an option
RECIPE = {"epochs": 8, "batch_size": 64, "lr": 0.05, "seed": 0}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for key, default in RECIPE.items():  # --epochs, --batch-size, --lr, --seed
        p.add_argument("--" + key.replace("_", "-"), type=type(default), default=default)
    p.add_argument("--out", default=None, help="write checkpoints, metrics.csv/json and plots here")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--target", type=float, default=0.98)
    args = p.parse_args(argv)
    if args.threads:
        fe.set_num_threads(args.threads)
    config = dict({key: getattr(args, key) for key in RECIPE}, model="lenet")
    trainer = Trainer.from_config(config, out_dir=args.out)  # seeds, then builds model, optimizer, schedule
    print(f"LeNet-5 on {len(trainer.train_y)} training / {len(trainer.val_y)} validation digits, "
          f"{fe.cpu_info()['isa']}, {fe.get_num_threads()} thread(s)")
    trainer.fit()
    acc = trainer.history[-1]["val_acc"]
    print(f"final validation accuracy: {acc:.2%}")
    return 0 if acc >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
