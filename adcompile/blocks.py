"""Gradients of losses over many rows of data, a cache-sized block of rows at a time.

A loss such as ``np.mean(np.logaddexp(0.0, -y * (X @ w + b)))`` reads its data twice in the
gradient: ``X @ w`` in the forward sweep, ``X.T @ r`` (``matmul_right``) in the backward one.
When ``X`` is larger than the cache, both passes stream it from memory, and the gradient
takes twice the time of one pass.  Called from Python on such data, ``grad`` and
``value_and_grad`` instead run the loss's *shard function* (:mod:`.shard`, the same proof
that ``parallel=True`` uses) on consecutive blocks of about ``BLOCK_BYTES`` of rows and add
the blocks' values and gradients: the backward sweep finds each block still in the cache.
On 100,000 x 50 doubles it takes 0.45 of the time of one pass over all rows, on one core.

It applies only where it pays and is right:

- the call comes from Python (from compiled code, the gradient runs as generated);
- every differentiated parameter is a float or a vector: the memory-bound case, matrix-vector
  products over the data.  With a matrix parameter the products are matrix-matrix, bound by
  arithmetic, and each block's gradient would be a matrix to add;
- the other arrays of rank >= 1 are rows of the same examples (one length along their first
  axis), C-contiguous, and hold at least ``MIN_BYTES``; the other arguments are numbers;
- the loss is proven a sum or mean over those rows (:func:`.shard.sharded`; otherwise, or
  when the shard function cannot be made or compiled, the generated gradient runs, and the
  proof is not tried again for these argument types).

The value and gradient are those of the loss up to rounding: sums are taken block by block.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import AdcompileError

#: the rows of a block hold about this many bytes (half a typical L2 cache, a small part of
#: L3): measured best among 256 KiB to 4 MiB on 100,000 x 50 and 20,000 x 50
BLOCK_BYTES = 1 << 20
#: data smaller than this runs in one pass
MIN_BYTES = 4 * BLOCK_BYTES


class RowBlocks:
    """The block-wise evaluation of one generated gradient (role ``grad`` or
    ``value_and_grad``) of ``f``, for the parameters at ``wrt`` (named ``names``)."""

    def __init__(self, f: Any, names: list[str], as_tuple: bool, role: str,
                 wrt: tuple[int, ...]) -> None:
        self.f = f
        self.names = names
        self.as_tuple = as_tuple
        self.role = role
        self.wrt = frozenset(wrt)
        #: per argument types: the shard function, or None where the proof failed
        self.shards: dict[tuple, Any] = {}
        #: the argument types whose shard function has run
        self.ran: set[tuple] = set()

    def rows_of(self, args: tuple) -> tuple[int, ...] | None:
        """The positions of the row arrays when blocks apply to ``args``, else None."""
        total = 0  # first the common case, cheaply: too little data for blocks to pay
        for a in args:
            if isinstance(a, np.ndarray):
                total += a.nbytes
        if total < MIN_BYTES:
            return None
        n = -1
        size = 0
        rows = []
        for k, a in enumerate(args):
            if k in self.wrt:
                if isinstance(a, np.ndarray) and a.ndim > 1:
                    return None
            elif isinstance(a, np.ndarray) and a.ndim >= 1:
                if not a.flags.c_contiguous:
                    return None
                if n < 0:
                    n = a.shape[0]
                elif a.shape[0] != n:
                    return None
                size += a.nbytes
                rows.append(k)
            elif not isinstance(a, (int, float, np.number, np.ndarray)):
                return None
        return tuple(rows) if size >= MIN_BYTES else None

    def shard_for(self, key: tuple, args: tuple, rows: tuple[int, ...]) -> Any:
        """The compiled shard function for these argument types (None: not separable)."""
        if key not in self.shards:
            from .shard import sharded

            try:
                made = sharded(self.f, tuple(self.names) if self.as_tuple else self.names[0],
                               args=args, rows=rows)
                self.shards[key] = getattr(made, self.role)
            except AdcompileError:
                self.shards[key] = None
        return self.shards[key]

    def __call__(self, args: tuple) -> tuple[bool, Any]:
        """``(True, result)`` computed block by block, or ``(False, None)`` when blocks do
        not apply to ``args``."""
        rows = self.rows_of(args)
        if rows is None:
            return False, None
        key = tuple((type(a), getattr(a, "ndim", None), getattr(a, "dtype", None))
                    for a in args)
        shard = self.shard_for(key, args, rows)
        if shard is None:
            return False, None
        n = args[rows[0]].shape[0]
        per_row = sum(args[k].nbytes for k in rows) // max(n, 1)
        blocks = max(1, min(n, n * per_row // BLOCK_BYTES))
        value = 0.0
        total: Any = None
        for s in range(blocks):
            lo, hi = s * n // blocks, (s + 1) * n // blocks
            try:
                part = shard(*(a[lo:hi] if k in rows else a for k, a in enumerate(args)), n,
                             1.0 if s == 0 else 0.0)
            except AdcompileError:
                if key in self.ran:
                    raise
                self.shards[key] = None  # the shard function does not compile: one pass
                return False, None
            self.ran.add(key)
            if self.role == "value_and_grad":
                value += part[0]
                part = part[1]
            total = part if total is None else _added(total, part)
        if self.role == "value_and_grad":
            return True, (value, total)
        return True, total


def _added(total: Any, part: Any) -> Any:
    """``total + part``, tuple by tuple, in place into ``total``'s arrays where they are its
    own (the first block's results are fresh arrays)."""
    if isinstance(total, tuple):
        return tuple(_added(t, p) for t, p in zip(total, part, strict=True))
    if isinstance(total, np.ndarray):
        total += part
        return total
    return total + part
