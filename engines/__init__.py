"""Engines that integrator plugins are built from (installed as ``stiffbench.engines``): a tableau-driven implicit
Runge–Kutta engine, Rosenbrock and BDF engines, the adapter for diffrax's solvers, and the Newton iteration and
step loops they share. The catalogs in ``stiffbench.plugins`` register integrators made from them; a third-party
plugin imports them the same way."""
