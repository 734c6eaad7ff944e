"""The linear algebra of the implicit engines: Jacobians built and factored by the problem's structure.

A Jacobian whose bandwidth is at most ``m`` is block tridiagonal in blocks of ``m`` consecutive states, and so is
every matrix an implicit step solves with: ``shift·I − J`` for a Newton iteration, and for the exact derivative
of ``s`` coupled stages, the stacked ``I − h (A ⊗ I) diag(J_i)`` with the stages of each block of states
grouped together (blocks of ``s·m``). So one representation serves every engine:

- :func:`blocks` builds the three block diagonals of a linear map from ``3·m·s`` Jacobian–vector products
  (columns ``3m`` apart touch disjoint block rows, so one product with their sum gives all of them: Curtis,
  Powell & Reid's compression), never the dense matrix;
- :func:`factor` runs block cyclic reduction once (``log2`` of the number of blocks batched steps, each eliminated
  diagonal block inverted with partial pivoting), and :func:`solve` reuses the factors for any number of
  right-hand sides: a few batched matrix–vector products per level.

A dense problem is the one-block case (``m`` = the dimension): :func:`blocks` is then ``jacfwd`` and
:func:`factor` one inversion. Work per factorization is ``O(n·m²)`` instead of ``O(n³)``.

No pivoting crosses a block boundary: block elimination is stable for the block diagonally dominant matrices of
diffusion-dominated problems and for ``shift·I − J`` with a large shift; a problem that declares a band and whose
Jacobian is far from this would need pivoting across blocks, which this module does not do. (The first version was
a sequential block sweep, ``lax.scan`` over the block rows with LU factors of 16-state blocks: on two CPU cores a
tridiagonal solve of 1024 states took ~0.8 ms, a factorization ~2 ms, most of it per-iteration overhead; cyclic
reduction over 1-state blocks takes ~0.1 ms and ~0.2 ms.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, final

import jax
import jax.numpy as jnp
import numpy as np

from stiffbench import Banded

SMALL_BLOCK = 4
"""Blocks up to this size are inverted by fused array operations rather than LAPACK (see :func:`_inverse`)."""


@final
@dataclasses.dataclass(frozen=True)
class Structure:
    """How states are grouped: ``n`` states in ``count`` blocks of ``m`` (the last one padded)."""

    n: int
    m: int

    @classmethod
    def of(cls, n: int, band: Banded | None) -> Structure:
        if band is None:
            return cls(n, n)
        return cls(n, min(n, max(band.lower, band.upper, 1)))

    @property
    def count(self) -> int:
        return -(-self.n // self.m)

    @property
    def padded(self) -> int:
        return self.count * self.m

    @property
    def describe(self) -> str:
        if self.count == 1:
            return f"dense ({self.n}×{self.n}, inverted by LU with partial pivoting)"
        return f"block tridiagonal, block cyclic reduction ({self.count} blocks of {self.m})"


@final
@dataclasses.dataclass(frozen=True)
class Blocks:
    """A block tridiagonal matrix: ``diag[k]`` is block ``(k, k)``, ``lower[k]`` block ``(k+1, k)``, ``upper[k]``
    block ``(k, k+1)``; each block ``b × b`` with ``b = s·m`` (stage-major within a block of states)."""

    diag: jax.Array
    lower: jax.Array
    upper: jax.Array

    def shifted(self, re: Any, im: Any = None, scale: Any = 1.0) -> Blocks:
        """``(re + i·im)·I − scale·self`` for a real matrix, as a real matrix: with ``im``, each block doubles, acting
        on ``(Re x, Im x)`` as ``[[re − scale·M, −im], [im, re − scale·M]]`` (a complex system solved in real
        arithmetic, which on a CPU is several times faster than complex arithmetic on small blocks). The padding
        states of a Jacobian get ``re``. Written with ``scale = h`` rather than dividing by ``h``, the matrix stays
        finite for ``h = 0`` (a batch member whose solve has finished still runs the loop's body under ``vmap``, and
        an infinite entry there makes a NaN gradient even where the step is discarded)."""
        eye = jnp.eye(self.diag.shape[-1], dtype=self.diag.dtype)
        shifted = re * eye - scale * self.diag
        lower, upper = -scale * self.lower, -scale * self.upper
        if im is None:
            return Blocks(shifted, lower, upper)
        zero, coupling = jnp.zeros_like(lower), im * jnp.broadcast_to(eye, shifted.shape)
        return Blocks(_two_by_two(shifted, -coupling, coupling, shifted), _two_by_two(lower, zero, zero, lower),
                      _two_by_two(upper, zero, zero, upper))


jax.tree_util.register_dataclass(Blocks, data_fields=["diag", "lower", "upper"], meta_fields=[])


def _two_by_two(a, b, c, d):
    """Blocks ``[[a, b], [c, d]]``, stacked over the leading axis."""
    return jnp.concatenate([jnp.concatenate([a, b], axis=-1), jnp.concatenate([c, d], axis=-1)], axis=-2)


def jacobian(f: Callable[[jax.Array], jax.Array], y: jax.Array, structure: Structure) -> Blocks:
    """``∂f/∂y`` at ``y`` (the padding states' rows and columns zero)."""
    def linear(v):
        return jax.jvp(f, (y,), (v[0],))[1][None]

    return blocks(linear, 1, structure, unit_padding=False)


def operator_solver(stages: int, structure: Structure) -> Callable[[Callable[[jax.Array], jax.Array], jax.Array],
                                                                   jax.Array]:
    """``(g, rhs) -> g⁻¹ rhs`` for a linear ``g`` on arrays shaped like ``rhs`` (``(stages, n)``, or ``(n,)`` for one
    stage), block tridiagonal in ``structure``: the exact solve of an implicit-function derivative."""
    def solve_operator(g, rhs):
        shape = rhs.shape

        def linear(v):
            return g(v.reshape(shape)).reshape(stages, structure.n)

        return solve(factor(blocks(linear, stages, structure), structure),
                     rhs.reshape(stages, structure.n)).reshape(shape)

    return solve_operator


def blocks(linear: Callable[[jax.Array], jax.Array], stages: int, structure: Structure,
           unit_padding: bool = True) -> Blocks:
    """The matrix of ``linear`` (a map of arrays of shape ``(stages, n)``, block tridiagonal in ``structure``);
    the padding states get unit diagonal entries (``unit_padding``) or none."""
    s, n, m, count = stages, structure.n, structure.m, structure.count
    colors = min(3, count) * m
    pad = structure.padded - n
    position = np.arange(structure.padded)
    # probes[c, j]: ones at stage j in every column p with p ≡ c (mod colors); padding columns are left out.
    probes = (position[None, :] % colors == np.arange(colors)[:, None]) & (position < n)
    seeds = np.zeros((colors, s, s, n))
    for j in range(s):
        seeds[:, j, j, :] = probes[:, :n]
    outs = jax.vmap(jax.vmap(linear))(jnp.asarray(seeds))  # (colors, j, i, n)
    outs = jnp.pad(outs, ((0, 0), (0, 0), (0, 0), (0, pad))).reshape(colors, s, s, count, m)

    def gather(col_block, row_block):
        # block (row_block, col_block)[(i, r), (j, q)] = outs[color of column (col_block, q), j, i, row_block, r]
        k = col_block[:, None, None, None, None]
        i = np.arange(s)[None, :, None, None, None]
        r = np.arange(m)[None, None, :, None, None]
        j = np.arange(s)[None, None, None, :, None]
        q = np.arange(m)[None, None, None, None, :]
        block = outs[(k * m + q) % colors, j, i, row_block[:, None, None, None, None], r]
        return block.reshape(len(col_block), s * m, s * m)

    every, inner = np.arange(count), np.arange(count - 1)
    diag = gather(every, every)
    if pad and unit_padding:  # the padded states: identity rows and columns, so that the last block stays invertible
        pad_mask = np.zeros((s, m), dtype=bool)
        pad_mask[:, m - pad:] = True
        diag = diag.at[-1].add(jnp.diag(jnp.asarray(pad_mask.reshape(-1), dtype=diag.dtype)))
    return Blocks(diag, gather(inner, inner + 1), gather(inner + 1, inner))


@final
@dataclasses.dataclass(frozen=True)
class Level:
    """One level of block cyclic reduction: the odd block rows eliminated in favour of the even ones."""

    inverse: jax.Array
    """Inverses of the odd diagonal blocks."""
    left: jax.Array
    right: jax.Array
    """``D_j⁻¹ L_j`` and ``D_j⁻¹ U_j`` for each odd block row ``j`` (its couplings to rows ``j − 1`` and ``j + 1``)."""
    lower: jax.Array
    upper: jax.Array
    """The even block rows' couplings to the odd rows before and after them."""


jax.tree_util.register_dataclass(Level, data_fields=["inverse", "left", "right", "lower", "upper"], meta_fields=[])


@final
@dataclasses.dataclass(frozen=True)
class Factorization:
    """A factored block tridiagonal matrix, ready for any number of solves."""

    levels: tuple[Level, ...]
    last: jax.Array
    """The inverse of the single block left after the last level."""
    structure: Structure
    complex_pair: bool
    """Built by ``shifted(re, im)``: a complex system in real form; :func:`solve` takes and returns complex."""


jax.tree_util.register_dataclass(Factorization, data_fields=["levels", "last"],
                                 meta_fields=["structure", "complex_pair"])


def factor(matrix: Blocks, structure: Structure, complex_pair: bool = False) -> Factorization:
    """Block cyclic reduction (Heller 1976): each level eliminates every other block row at once, so a system of
    ``k`` block rows takes ``log2 k`` batched steps instead of a sequential sweep of ``k``. Returns the levels and
    the inverse of the last, single block. The eliminated diagonal blocks are inverted (by LU with partial
    pivoting), not kept as LU factors: every later solve is then a few batched matrix products, which on a CPU
    are several times faster than batched triangular solves of small blocks."""
    D = matrix.diag
    k = D.shape[0]
    size = 1 << max(k - 1, 0).bit_length()  # padded to a power of two with identity blocks
    zero = jnp.zeros((1, *D.shape[1:]), D.dtype)
    pad = [jnp.broadcast_to(jnp.eye(D.shape[-1], dtype=D.dtype), (size - k, *D.shape[1:]))] if size > k else []
    D = jnp.concatenate([D, *pad])
    # Row-aligned couplings: lower[i] = block (i, i − 1), upper[i] = block (i, i + 1); zero where there is none.
    fill = [jnp.zeros((size - k, *D.shape[1:]), D.dtype)] if size > k else []
    lower = jnp.concatenate([zero, matrix.lower.astype(D.dtype), *fill])
    upper = jnp.concatenate([matrix.upper.astype(D.dtype), zero, *fill])
    levels = []
    while D.shape[0] > 1:
        inverse = _inverse(D[1::2])
        left, right = inverse @ lower[1::2], inverse @ upper[1::2]
        even_lower, even_upper = lower[0::2], upper[0::2]
        previous = jnp.roll  # the odd row before even row 2e is odd row e − 1 (row 0 has none: its lower is zero)
        D = D[0::2] - even_lower @ previous(right, 1, axis=0) - even_upper @ left
        lower, upper = -even_lower @ previous(left, 1, axis=0), -even_upper @ right
        levels.append(Level(inverse, left, right, even_lower, even_upper))
    return Factorization(tuple(levels), _inverse(D[0]), structure, complex_pair)


def solve(factors: Factorization, rhs: jax.Array) -> jax.Array:
    """``x`` with ``M x = rhs`` for ``factors = factor(M)``; ``rhs`` of shape ``(stages, n)`` (or ``(n,)``)."""
    if factors.complex_pair:
        x = _solve(factors, jnp.stack([rhs.real, rhs.imag]))
        return x[0] + 1j * x[1]
    return _solve(factors, rhs)


def _solve(factors: Factorization, rhs: jax.Array) -> jax.Array:
    levels, last, structure = factors.levels, factors.last, factors.structure
    squeeze = rhs.ndim == 1
    b = rhs[None] if squeeze else rhs
    s, pad = b.shape[0], structure.padded - structure.n
    b = jnp.pad(b, ((0, 0), (0, pad))).reshape(s, structure.count, structure.m)
    b = b.transpose(1, 0, 2).reshape(structure.count, s * structure.m).astype(jnp.result_type(b.dtype, last.dtype))
    size = 1 << max(structure.count - 1, 0).bit_length()
    b = jnp.pad(b, ((0, size - structure.count), (0, 0)))
    odd_parts = []
    for level in levels:  # reduce the right-hand side level by level
        y = _matvec(level.inverse, b[1::2])
        b = b[0::2] - _matvec(level.lower, jnp.roll(y, 1, axis=0)) - _matvec(level.upper, y)
        odd_parts.append(y)
    x = (last @ b[0])[None]
    for level, y in zip(reversed(levels), reversed(odd_parts), strict=True):  # and substitute back
        following = jnp.concatenate([x[1:], jnp.zeros_like(x[:1])])
        x_odd = y - _matvec(level.left, x) - _matvec(level.right, following)
        x = jnp.stack([x, x_odd], axis=1).reshape(-1, x.shape[-1])
    x = x[:structure.count]
    x = x.reshape(structure.count, s, structure.m).transpose(1, 0, 2).reshape(s, structure.padded)[:, :structure.n]
    return x[0] if squeeze else x


def _inverse(a: jax.Array) -> jax.Array:
    """Inverses of a batch of square blocks, by LU with partial pivoting. Blocks of up to :data:`SMALL_BLOCK` rows are
    inverted by Gauss–Jordan elimination written out with array operations (XLA fuses them: on a CPU, for a batch of
    1×1 to 4×4 blocks, a few times faster than a call into LAPACK per block); larger ones by ``jnp.linalg.inv``."""
    m = a.shape[-1]
    if m > SMALL_BLOCK:
        return jnp.linalg.inv(a)
    rows = jnp.arange(m)
    work = jnp.concatenate([a, jnp.broadcast_to(jnp.eye(m, dtype=a.dtype), a.shape)], axis=-1)
    for k in range(m):
        pivot = jnp.argmax(jnp.where(rows >= k, jnp.abs(work[..., :, k]), -1.0), axis=-1)
        pivot_row = jnp.take_along_axis(work, pivot[..., None, None], axis=-2)[..., 0, :]
        work = jnp.where((rows == pivot[..., None])[..., None], work[..., k:k + 1, :], work)  # swap rows k, pivot
        pivot_row = pivot_row / pivot_row[..., k:k + 1]
        work = work - work[..., :, k:k + 1] * pivot_row[..., None, :]
        work = work.at[..., k, :].set(pivot_row)
    return work[..., m:]


def _matvec(blocks: jax.Array, vectors: jax.Array) -> jax.Array:
    return jnp.einsum("kij,kj->ki", blocks, vectors)
