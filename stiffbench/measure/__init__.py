"""Measurements: each turns a cell's inputs into a typed record, through the compiled programs of :mod:`.kernels`.

- :func:`measure_stability`: ``R``, ``R'`` of one integrator, theory against implementation;
- :func:`measure_gradients`: sensitivities through one integrator on one problem with one step policy;
- :func:`measure_cost`: one adaptive solve through a stiffbench integrator or SciPy, with its cost;
- :func:`measure_precision`: forward and gradient error against cost across a ladder of tolerances or steps,
  for one differentiation method;
- :func:`measure_training`: a fit of the parameters to observations through one integrator, iteration by
  iteration.
"""

from .cost import SCIPY_SOLVERS, measure_cost
from .gradients import measure_gradients, theory_predictions
from .precision import measure_precision
from .properties import catalog, integrator_properties, problem_properties
from .references import Reference, reference_sensitivities, reference_sensitivity
from .stability import measure_stability
from .training import measure_training

__all__ = [
    "SCIPY_SOLVERS",
    "Reference",
    "catalog",
    "integrator_properties",
    "measure_cost",
    "measure_gradients",
    "measure_precision",
    "measure_stability",
    "measure_training",
    "problem_properties",
    "reference_sensitivities",
    "reference_sensitivity",
    "theory_predictions",
]
