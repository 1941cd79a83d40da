"""A 2-4-1 network learns XOR, which no single neuron can: the hidden layer bends the plane.

    python examples/xor.py
"""
import sys

import numpy as np

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


def train(steps=2000, lr=0.5, seed=0):
    fe.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = fe.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    x, y = fe.tensor(X), fe.tensor(Y)
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with fe.no_grad():
        prob = model(x).sigmoid().data
    return model, prob, loss.item()


def main():
    _, prob, loss = train()
    print("a b | xor | network")
    for (a, b), t, p in zip(X.astype(int), Y[:, 0].astype(int), prob[:, 0]):
        print(f"{a} {b} |  {t}  | {p:.3f} -> {int(p > 0.5)}")
    ok = np.array_equal(prob[:, 0] > 0.5, Y[:, 0] > 0.5)
    print(f"final loss {loss:.4f}: {'learned XOR' if ok else 'did NOT learn XOR'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
