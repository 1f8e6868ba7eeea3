"""Small-number suppression: no published count below the threshold, and none recoverable.

Primary suppression hides every count below the threshold (5 unless configured). That alone is
not enough: when a total is published beside its parts, one hidden part is the total minus the
others. So the published figures are described as *relations* (parts, then the total they add up
to), and secondary suppression hides more members until no hidden count can be worked out.

"Worked out" is judged as a reader would: a count shown as "<5" is known to be 0 to 4, and a count
withheld to protect another is known to be at least 5 (it would otherwise be "<5"). A relation is
safe when, for each hidden member other than a zero (a zero names no one), the published members
and those bounds leave it more than one possible value. A relation with one hidden member never
is; one whose hidden members are two withheld counts adding up to a published 10 is not either
(each is 5). The member hidden next is the first shown one that makes the relation safe, in
this order: those whose hiding does not leave another relation to be mended only with the least
preferred kind of count, then the caller's preference, then the smaller count; failing that, the
first.

Relations that are each safe can still pin a count down together (a week's total, a platform's
total and their weeks), so a linear program over all of them has the last word (`_pinned`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Hidden(Generic[K]):
    """What to hide: `small` counts (below the threshold) and those `withheld` to protect them."""

    small: frozenset[K]
    withheld: frozenset[K]

    def __contains__(self, key: object) -> bool:
        return key in self.small or key in self.withheld

    def __len__(self) -> int:
        return len(self.small) + len(self.withheld)


def suppress(
    values: Mapping[K, int],
    relations: Sequence[Sequence[K]],
    threshold: int,
    preference: Callable[[K], int] | None = None,
) -> Hidden[K]:
    """The keys to hide. Each relation lists parts then their total (the last member).
    `preference` ranks keys for secondary suppression: lower is hidden first, then smaller
    counts, then earlier keys."""
    small = {key for key, value in values.items() if value < threshold}
    hidden = set(small)
    if not hidden:
        return Hidden(frozenset(), frozenset())
    order = {key: index for index, key in enumerate(values)}
    rank = preference or (lambda key: 0)
    members_of = [[key for key in relation if key in values] for relation in relations]
    related: dict[K, list[int]] = {}
    for index, members in enumerate(members_of):
        for key in members:
            related.setdefault(key, []).append(index)
    worst = max(rank(key) for key in values)

    def cost(key: K, index: int) -> tuple[int, int, int, int]:
        # One step ahead: would hiding it leave another relation to be mended only by hiding
        # a member of the least preferred kind?
        forced = 0
        after = hidden | {key}
        for other in related[key]:
            if other == index:
                continue
            rest = [m for m in members_of[other] if m not in after]
            if rest and not _safe(members_of[other], after, small, values, threshold):
                forced += preference is not None and all(rank(m) == worst for m in rest)
        return (forced, rank(key), values[key], order[key])

    def mend(pending: set[int]) -> None:
        while pending:
            index = pending.pop()
            members = members_of[index]
            if _safe(members, hidden, small, values, threshold):
                continue
            shown = sorted(
                (key for key in members if key not in hidden), key=lambda k: cost(k, index)
            )
            if not shown:
                continue
            pick = next(
                (k for k in shown if _safe(members, hidden | {k}, small, values, threshold)),
                shown[0],
            )
            hidden.add(pick)
            pending.update(related[pick])
            pending.add(index)

    mend(set(range(len(members_of))))
    # Each relation is safe on its own; the tables together may still pin a count down.

    def withhold(indexes: list[int]) -> bool:
        """Withhold the cheapest shown member of these relations, and mend what that unsettles;
        False when every member is hidden already."""
        choices = [
            (cost(key, index), key)
            for index in indexes
            for key in members_of[index]
            if key not in hidden
        ]
        if not choices:
            return False
        pick = min(choices, key=lambda choice: choice[0])[1]
        hidden.add(pick)
        mend(set(related[pick]))
        return True

    while pinned := _pinned(values, members_of, hidden, small, threshold):
        added = False
        for found in pinned:
            added = withhold(related.get(found, [])) or added
        if added:
            continue
        # The pinned counts' own relations have nothing left to withhold, but they are pinned
        # through hidden counts they share relations with: withhold a count in one of theirs.
        group = next(g for g in _components(members_of, hidden) if pinned[0] in g)
        linked = [n for n, members in enumerate(members_of) if not group.isdisjoint(members)]
        if not withhold(linked):
            break
    return Hidden(frozenset(small), frozenset(hidden - small))


def _pinned(
    values: Mapping[K, int],
    relations: Sequence[Sequence[K]],
    hidden: set[K],
    small: set[K],
    threshold: int,
) -> list[K]:
    """The hidden counts, zeros aside, that all the relations together pin to one value.

    Each group of hidden counts linked through relations is a linear program: the published
    counts as equations, and the bounds a reader knows. A count is free if some solution puts it
    at least 1 away from its true value; a few solutions for random objectives settle most counts
    at once, and only those left get their own smallest and largest value."""
    from scipy.optimize import linprog  # type: ignore[import-untyped]  # imported when needed

    chance = random.Random(0)  # noqa: S311 (not a secret: the same report every time)
    pinned: list[K] = []
    touching = [r for r in relations if any(key in hidden for key in r)]
    for component in _components(touching, hidden):
        keys = sorted(component, key=repr)
        where = {key: n for n, key in enumerate(keys)}
        rows, rhs = [], []
        for relation in touching:
            if not any(key in where for key in relation):
                continue
            row = [0.0] * len(keys)
            constant = 0.0
            for position, key in enumerate(relation):
                sign = -1.0 if position == len(relation) - 1 else 1.0
                if key in where:
                    row[where[key]] += sign
                else:
                    constant += sign * values[key]
            rows.append(row)
            rhs.append(-constant)
        bounds: list[tuple[float, float | None]] = [
            (0.0, threshold - 1.0) if key in small else (float(threshold), None) for key in keys
        ]

        def solve(
            goal: list[float],
            rows: list[list[float]] = rows,
            rhs: list[float] = rhs,
            bounds: list[tuple[float, float | None]] = bounds,
        ) -> list[float] | None:
            result = linprog(goal, A_eq=rows, b_eq=rhs, bounds=bounds, method="highs")
            return None if result.status != 0 else [float(v) for v in result.x]

        open_keys = {key for key in keys if values[key] != 0}
        for _ in range(4):
            if not open_keys:
                break
            point = solve([chance.uniform(-1, 1) for _ in keys])
            if point is not None:
                open_keys = {k for k in open_keys if abs(point[where[k]] - values[k]) < 1 - 1e-9}
        for key in sorted(open_keys, key=repr):
            spread = []
            for direction in (1.0, -1.0):
                goal = [0.0] * len(keys)
                goal[where[key]] = direction
                point = solve(goal)
                spread.append(math.inf if point is None else point[where[key]])
            if abs(spread[1] - spread[0]) < 1 - 1e-9:
                pinned.append(key)
    return pinned


def _components(relations: Sequence[Sequence[K]], hidden: set[K]) -> list[set[K]]:
    """The hidden counts, in groups that share a relation (directly or through others)."""
    parent: dict[K, K] = {key: key for relation in relations for key in relation if key in hidden}

    def root(key: K) -> K:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for relation in relations:
        inside = [key for key in relation if key in hidden]
        for other in inside[1:]:
            parent[root(other)] = root(inside[0])
    groups: dict[K, set[K]] = {}
    for key in parent:
        groups.setdefault(root(key), set()).add(key)
    return list(groups.values())


def _safe(
    members: Sequence[K], hidden: set[K], small: set[K], values: Mapping[K, int], threshold: int
) -> bool:
    """Whether every hidden member of this relation (parts, then total), zeros aside, has two
    possible values."""
    inside = [key for key in members if key in hidden]
    if not inside:
        return True
    # Written as sum(sign * value) == 0, with the total's sign -1.
    signs = {
        key: (-1 if position == len(members) - 1 else 1) for position, key in enumerate(members)
    }
    known = sum(signs[key] * values[key] for key in members if key not in hidden)
    bounds = {
        key: (0.0, float(threshold - 1)) if key in small else (float(threshold), math.inf)
        for key in inside
    }
    signed = {key: _signed(signs[key], bounds[key]) for key in inside}
    # The sums of the others' bounds, for each member in turn, without adding n-1 terms n times.
    low_sum = sum(low for low, _ in signed.values() if low != -math.inf)
    high_sum = sum(high for _, high in signed.values() if high != math.inf)
    low_unbounded = sum(1 for low, _ in signed.values() if low == -math.inf)
    high_unbounded = sum(1 for _, high in signed.values() if high == math.inf)
    for key in inside:
        low_k, high_k = signed[key]
        own_low = low_k == -math.inf
        own_high = high_k == math.inf
        low_rest = -math.inf if low_unbounded - own_low > 0 else low_sum - (0 if own_low else low_k)
        high_rest = (
            math.inf if high_unbounded - own_high > 0 else high_sum - (0 if own_high else high_k)
        )
        # sign_k * x_k = -(known + the others' signed values)
        first, second = -(known + high_rest), -(known + low_rest)
        if signs[key] < 0:
            first, second = -second, -first
        low = max(first, bounds[key][0])
        high = min(second, bounds[key][1])
        if high - low < 1 and values[key] != 0:
            return False
    return True


def _signed(sign: int, bound: tuple[float, float]) -> tuple[float, float]:
    return bound if sign > 0 else (-bound[1], -bound[0])
