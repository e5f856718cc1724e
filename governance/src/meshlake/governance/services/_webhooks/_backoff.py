"""When to try a failed delivery again: exponential backoff with jitter, capped."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Wait ``base * 2**(attempt-1)`` seconds (at most ``maximum``) after failed ``attempt``, jittered
    to between half and all of it.

    Half-to-full jitter spreads receivers' retries apart (a receiver coming back is not hit by every
    delivery in the same second) while each wait stays at least as long as the one before.
    """

    base: float
    maximum: float
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int) -> float:
        cap = min(self.maximum, self.base * 2.0 ** min(max(attempt, 1) - 1, 62))
        return cap / 2 + self.rng.uniform(0, cap / 2)
