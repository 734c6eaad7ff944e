"""The stability sweep per integrator: its run time, its agreement with theory, its decay, its compile time."""

import stiffbench

from . import _common as c


class StabilitySweep:
    """Time of the vmapped, compiled ``R(z)``, ``R'(z)`` function over the default grid (200 points, |z|
    from 1e-2 to 1e8), as ``stiffbench run`` measures it (``stiffbench.measure.kernels.stability_program``).
    Compiled in ``setup``; the body calls and blocks."""

    params = (c.INTEGRATORS,)
    param_names = ("integrator",)
    timeout = 300
    rounds = 1  # each round is another process, which re-traces: see _common.py

    def setup(self, integrator):
        stiffbench.configure()

        def build():
            program = c.stability_sweep(c.integrator(integrator))
            program()  # warm-up
            return program

        self.program = c.memo(("sweep", integrator), build)

    def time_stability_sweep(self, integrator):
        self.program()


class StabilityAgreement:
    """Worst relative error of the computed ``R'`` up to ``|z| = 1e6`` against the theory: the
    ``agreement`` entry with ``abs_z_max`` 1e6 of the ``measure_stability`` summary (``summary.level(1e6)``),
    over the points whose solve succeeded. An integrator without a theory has nothing to compare with and is
    skipped."""

    params = (c.INTEGRATORS,)
    param_names = ("integrator",)
    timeout = 300
    rounds = 1  # a deterministic number: one process is enough

    def setup(self, integrator):
        stiffbench.configure()
        if c.integrator(integrator).theory is None:
            raise NotImplementedError(f"{integrator}: no theory to compare with")
        summary = c.stability_summary(integrator)
        entry = summary.level(1e6)
        if entry is None or entry.max_rel_err_dR is None:
            raise RuntimeError(f"{integrator}: no point up to |z| = 1e6 solved: {dict(summary.failures)}")
        self.error = entry.max_rel_err_dR

    def track_dR_rel_err_1e6(self, integrator):
        return self.error

    track_dR_rel_err_1e6.unit = "relative error"


class StabilityDecay:
    """How fast the gradient vanishes: ``10**p`` with ``p`` the computed decay exponent of ``R'`` (the slope
    of ``log|R'|`` against ``log|z|`` for ``|z| ≥ 1e3`` on the negative real axis, ``measure_stability``'s
    ``decay_exponent_computed``). It is the factor by which ``|R'|`` changes per decade of ``|z|``: 0.01 for
    ``p = −2`` (most L-stable methods), 1e5 for an explicit method of order 5; ``log10`` of it is ``p``.

    Tracked as ``10**p``, not ``p``: asv compares results by their ratio, which means nothing for negative
    numbers (``asv compare`` reports an unchanged ``−2`` as changed). A change of ``p`` by 0.04 is a change
    of this factor by 10 %.
    """

    params = (c.INTEGRATORS,)
    param_names = ("integrator",)
    timeout = 300
    rounds = 1  # a deterministic number: one process is enough

    def setup(self, integrator):
        stiffbench.configure()
        summary = c.stability_summary(integrator)
        if summary.decay_exponent_computed is None:
            raise RuntimeError(f"{integrator}: too few solved points to fit a decay: {dict(summary.failures)}")
        self.exponent = summary.decay_exponent_computed

    def track_dR_decay_per_decade(self, integrator):
        return 10.0**self.exponent

    track_dR_decay_per_decade.unit = "factor per decade of |z|"


class StabilityCompile:
    """Seconds to trace, lower and compile the stability sweep (the ``compile s`` column of
    ``stiffbench run``, ``Program.compile_s`` of ``kernels.stability_program``), with the exported-program cache
    and JAX's persistent compilation cache off: what a user's first run pays."""

    params = (c.INTEGRATORS,)
    param_names = ("integrator",)
    timeout = 300
    rounds = 1  # a deterministic number: one process is enough

    def setup(self, integrator):
        stiffbench.configure(caches=False)
        self.seconds = c.memo(("sweep-compile", integrator),
                              lambda: c.stability_sweep(c.integrator(integrator)).compile_s)

    def track_compile_time(self, integrator):
        return self.seconds

    track_compile_time.unit = "seconds"
