"""Small-number suppression: no published count below the threshold, and none recoverable.

Primary suppression hides every count below the threshold (5 unless configured). That alone is not
enough: when a total is published beside its parts, one hidden part is the total minus the others.
So the published figures are described as *relations* (a total and the parts that add up to it),
and secondary suppression hides one more member of any relation that has exactly one hidden
member, choosing the smallest (the least informative to lose), until no relation has exactly one.
A relation with two or more hidden members gives away only their sum, which is the standard
the UK's statistical offices use for published tables.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def suppress(values: Mapping[K, int], relations: Sequence[Sequence[K]], threshold: int) -> set[K]:
    """The keys to hide: those below `threshold`, and enough others that no relation (a total
    followed by, or mixed with, the parts that sum to it) has exactly one hidden member."""
    hidden = {key for key, value in values.items() if value < threshold}
    if not hidden:
        return hidden
    order = {key: index for index, key in enumerate(values)}
    changed = True
    while changed:
        changed = False
        for relation in relations:
            members = [key for key in relation if key in values]
            if sum(1 for key in members if key in hidden) != 1:
                continue
            shown = [key for key in members if key not in hidden]
            if not shown:
                continue
            pick = min(shown, key=lambda key: (values[key], order[key]))
            hidden.add(pick)
            changed = True
    return hidden
