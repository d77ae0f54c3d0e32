"""The queue listener's polling delay: the WebJobs RandomizedExponentialBackoffStrategy.

Minimum 100 ms, delta 100 ms, maximum = host.json maxPollingInterval. After an empty poll
the delay is ``min + rand(0.8..1.2) * delta * 2^(n-1)`` (n = 0 gives just ``min``), n growing
by one each time until the value reaches the maximum, which then sticks. A poll that found
messages since the last delay resets to the minimum with n = 1.
"""

from __future__ import annotations

import random
from collections.abc import Callable

MIN_INTERVAL = 0.1
DELTA = 0.1


class RandomizedExponentialBackoff:
    def __init__(self, maximum: float, minimum: float = MIN_INTERVAL, delta: float = DELTA,
                 uniform: Callable[[float, float], float] | None = None) -> None:
        if maximum < minimum:
            raise ValueError(f"maximum interval {maximum}s is below the minimum {minimum}s")
        self.minimum, self.maximum, self.delta = minimum, maximum, delta
        self._uniform = uniform or random.uniform
        self._current = minimum
        self._exponent = 0

    def next_delay(self, succeeded: bool) -> float:
        """Seconds to wait before the next poll; ``succeeded`` = messages arrived since the last delay."""
        if succeeded:
            self._current = self.minimum
            self._exponent = 1
        elif self._current != self.maximum:
            interval = self.minimum
            if self._exponent > 0:
                interval += self._uniform(self.delta * 0.8, self.delta * 1.2) * 2 ** (self._exponent - 1)
            if interval < self.maximum:
                self._current = interval
                self._exponent += 1
            else:
                self._current = self.maximum
        return self._current
