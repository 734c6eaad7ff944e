"""stiffbench's built-in problem plugins (installed as ``stiffbench.problems``)."""
