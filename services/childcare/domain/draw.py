"""The "double random" draw (双随机一公开): random institutions, random inspectors.

Reproducible by construction: the candidates are sorted by id and the only randomness is a
``random.Random`` seeded with the recorded seed, so the same seed over the same candidates
always gives the same draw.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

MAX_SEED = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Draw:
    institution_ids: tuple[int, ...]
    inspector_ids: tuple[int, ...]


def draw(
    seed: int,
    institution_ids: Sequence[int],
    inspector_ids: Sequence[int],
    institution_count: int,
    inspector_count: int,
) -> Draw:
    """Samples without replacement; asking for more than there are takes them all (shuffled)."""
    if not 0 <= seed <= MAX_SEED:
        raise ValueError("the seed must be between 0 and 2**63-1")
    rng = random.Random(seed)
    institutions = sorted(set(institution_ids))
    inspectors = sorted(set(inspector_ids))
    chosen_institutions = rng.sample(institutions, min(institution_count, len(institutions)))
    chosen_inspectors = rng.sample(inspectors, min(inspector_count, len(inspectors)))
    return Draw(tuple(chosen_institutions), tuple(chosen_inspectors))
