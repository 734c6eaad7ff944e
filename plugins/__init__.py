"""stiffbench's built-in integrator plugins (installed as ``stiffbench.plugins``)."""
