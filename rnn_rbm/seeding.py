"""Every random generator of a run is derived here from the run's one seed (`--seed`).

Each purpose draws from a stream of its own, so that one part of a run cannot change
another's draws: validation and TensorBoard's pictures never touch the generator that
training draws from, so switching them on or off, or changing how often they run,
leaves the trained weights as they were. Streams are keyed by (seed, purpose, epoch):
a resumed run validates with the draws an unbroken one would have used.
"""

from __future__ import annotations

import numpy as np

# Purposes: the second key of a stream.
VALIDATION = 1
IMAGES = 2


def derived_seed(seed: int, *keys: int) -> int:
    """Returns: a seed in [0, 2**63) for the stream (seed, *keys), independent of the others
    (numpy's SeedSequence hashing)."""
    word = np.random.SeedSequence([seed, *keys]).generate_state(1, np.uint64)[0]
    return int(word >> np.uint64(1))
