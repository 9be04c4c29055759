"""Epsilon sweep: the attack's success rate against its budget, over a set of photos."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.attack.attack import AttackConfig, Attacker, attack_batch


@dataclass(frozen=True)
class SweepPoint:
    """Progress of an epsilon sweep: successes so far at one budget."""

    eps: int
    done: int
    successes: int
    total: int

    @property
    def rate(self) -> float:
        return self.successes / self.done if self.done else 0.0


def epsilon_sweep(attacker: Attacker, images: list[np.ndarray], eps_values, config: AttackConfig,
                  batch_size: int = 4):
    """Success rate against the budget, over a set of prepared photos.

    Args:
        attacker: the classifier to fool.
        images: ``uint8`` photos prepared for it.
        eps_values: budgets in levels; 0 measures photos that are already the target.
        config: the other attack settings (its ``eps`` is replaced).
        batch_size: photos attacked together.

    Yields:
        A ``SweepPoint`` after each batch; the last one for each budget has ``done == total``.
    """
    images = np.stack(images) if len(images) else np.zeros((0, attacker.input_size, attacker.input_size, 3), np.uint8)
    for eps in eps_values:
        cfg = replace(config, eps=int(eps))  # every other setting carries over, new fields included
        successes = 0
        for start in range(0, len(images), batch_size):
            successes += int(attack_batch(attacker, images[start:start + batch_size], cfg)["success"].sum())
            yield SweepPoint(int(eps), min(start + batch_size, len(images)), successes, len(images))
