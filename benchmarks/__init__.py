"""asv (airspeed velocity) benchmarks for stiffbench; see asv.conf.json and the README.

Every benchmark is parameterised from the plugin registry (``stiffbench.load_registry()``), so a newly
registered integrator or problem is tracked without editing this suite.
"""

import os

# equinox turns runtime checks into host callbacks, and JAX's persistent compilation cache does not store
# a computation with host callbacks (diffrax's SaveAt(ts) and StepTo have such checks): with "nan" a
# failed check poisons the output instead. equinox reads the variable once, on import, so it is set here,
# in the package that asv imports before any benchmark module (as stiffbench.cli.main does).
os.environ.setdefault("EQX_ON_ERROR", "nan")
