"""Learning-rate schedules: call scheduler.step() once per epoch (or per step for OneCycleLR)."""
import math


class LRScheduler:
    def __init__(self, optimizer, last_epoch=-1):
        self.optimizer = optimizer
        for g in optimizer.param_groups:
            g.setdefault("initial_lr", g["lr"])
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self):
        raise NotImplementedError

    def step(self):
        self.last_epoch += 1
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr

    def get_last_lr(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, sd):
        self.__dict__.update(sd)


class StepLR(LRScheduler):
    """lr = base * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (b - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for b in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The one-cycle policy (cosine annealing, PyTorch's defaults): warm up from max_lr/div_factor to
    max_lr over pct_start of total_steps, then anneal to max_lr/(div_factor*final_div_factor)."""

    def __init__(self, optimizer, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                 last_epoch=-1):
        if total_steps <= 0:
            raise ValueError(f"OneCycleLR: total_steps must be positive, got {total_steps}")
        self.max_lr, self.total_steps, self.pct_start = max_lr, total_steps, pct_start
        self.initial = max_lr / div_factor
        self.final = self.initial / final_div_factor
        for g in optimizer.param_groups:
            g["initial_lr"] = self.initial
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _cos(start, end, frac):
        return end + (start - end) / 2 * (math.cos(math.pi * frac) + 1)

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, more than total_steps={self.total_steps}")
        up = float(self.pct_start * self.total_steps) - 1
        if t <= up:
            lr = self._cos(self.initial, self.max_lr, t / up if up > 0 else 1.0)
        else:
            down = self.total_steps - 1 - up
            lr = self._cos(self.max_lr, self.final, (t - up) / down if down > 0 else 1.0)
        return [lr for _ in self.optimizer.param_groups]
