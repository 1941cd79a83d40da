"""Run by tests/test_distributed.py under `mpirun -np R python tests/mpi_worker.py MODE OUT`.

train: LeNet-5, SGD with momentum, global batches split over the ranks by DistributedSampler and
    gradients averaged by allreduce_gradients; rank 0 writes the parameters to OUT (npz), after every
    rank checked that all ranks hold bitwise the same parameters.
raise / exit: as train, but rank 1 dies at its third step (an exception, or os._exit(3)), while the
    others wait for it in the allreduce: mpirun must end them all with an error.
sysexit / exit0: rank 1 leaves at its third step through sys.exit(2) (what argparse's parser.error does) or
    sys.exit(0): Python's shutdown (atexit, MPI_Finalize) runs while rank 0 waits in the allreduce.
sigint / sigterm: at its third step rank 0 sleeps 120 s before its forward pass, and rank 1, waiting for it
    in the allreduce, gets SIGINT (or SIGTERM) after 1 s.
late: no training; rank 1 leaves at once, rank 0 after 3 s of work outside any collective: a clean end.
"""
import os
import signal
import sys
import threading
import time

import numpy as np

import firstepoch as fe
import firstepoch.distributed as dist
import firstepoch.nn.functional as F

N, GLOBAL_BATCH, EPOCHS, SEED, LR = 201, 32, 2, 3, 0.05  # 201: the sampler pads one sample per epoch


def data():
    x, y = fe.datasets.mnist("train")
    x = fe.datasets.normalize(x[:N], flatten=False)[:, None]
    return np.ascontiguousarray(x), np.ascontiguousarray(y[:N], dtype=np.int64)


def make_model():
    fe.manual_seed(SEED)
    model = fe.models.LeNet5()
    return model, fe.optim.SGD(model.parameters(), lr=LR, momentum=0.9)


def main(mode, out):
    dist.init()
    r, size = dist.rank(), dist.world_size()
    if mode == "late":
        dist.barrier()
        if r == 0:
            time.sleep(3)
            np.savez(out, size=size)
        return
    x, y = data()
    model, opt = make_model()
    if r != 0:  # different weights everywhere but rank 0: broadcast_parameters must fix that
        for p in model.parameters():
            p._data[...] = np.float32(r)
    dist.broadcast_parameters(model)
    sampler = dist.DistributedSampler(N, seed=SEED)
    local = GLOBAL_BATCH // size
    step = 0
    for epoch in range(EPOCHS):
        order = sampler(epoch)
        for i in range(0, len(order), local):
            idx = order[i:i + local]
            if mode in ("sigint", "sigterm") and step == 2:
                if r == 0:
                    time.sleep(120)
                else:
                    sig = signal.SIGINT if mode == "sigint" else signal.SIGTERM
                    threading.Timer(1.0, os.kill, (os.getpid(), sig)).start()
            elif mode != "train" and r == 1 and step == 2:
                if mode == "raise":
                    raise RuntimeError("rank 1 fails on purpose")
                if mode == "sysexit":
                    sys.exit(2)
                if mode == "exit0":
                    sys.exit(0)
                os._exit(3)
            loss = F.cross_entropy(model(fe.Tensor(x[idx])), fe.Tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            dist.allreduce_gradients(model)
            opt.step()
            step += 1
    flat = np.concatenate([p._data.ravel() for p in model.parameters()])
    everyone = dist._world.comm.allgather(flat.tobytes()) if size > 1 else [flat.tobytes()]
    assert all(b == everyone[0] for b in everyone), "ranks ended with different parameters"
    if r == 0:
        np.savez(out, steps=step, size=size, calls=dist.allreduce_stats()["calls"],
                 **{k: v for k, v in model.state_dict().items()})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
