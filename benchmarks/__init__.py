"""asv (airspeed velocity) benchmarks for stiffbench; see asv.conf.json and the README.

Every benchmark is parameterised from the plugin registry (``stiffbench.load_registry()``), so a newly
registered integrator or problem is tracked without editing this suite.
"""

import os

# One CPU per benchmark process. With more, XLA's intra-op thread pool makes the same compiled function run
# at a different speed in each process, and asv runs every case in a new process: on a 2-core machine one
# diffrax gradient took 2.87, 2.98, 3.82 and 5.47 ms (median of each process's samples, each ±3 %) in four
# asv runs, where the threshold for a change is 10 %; pinned, 2.44–2.53 ms (and a HIRES gradient 11.0–11.2
# ms against 17.2–22.3). So the numbers are single-CPU numbers. Pinning here, before JAX is imported (and so
# before it creates its CPU backend), covers asv's fork server and the processes it forks;
# `asv run --cpu-affinity N` chooses the CPU.
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})

import stiffbench

# The process's numerical runtime, as the CLI sets it up (stiffbench/runtime.py): float64, equinox's error mode
# EQX_ON_ERROR=nan (set by importing stiffbench, before equinox is imported: with it the caches store diffrax
# solves, which otherwise carry host callbacks), the exported-program cache and JAX's persistent compilation cache
# under stiffbench.runtime.cache_dir(). Here, in the package that asv imports before any benchmark module; the
# compile-time benchmarks turn both caches off in their setup (configure(caches=False)).
stiffbench.configure()
