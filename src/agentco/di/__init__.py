"""The Data Interpreter: a request about data becomes a plan of tasks, each task code run in a
sandboxed Jupyter kernel and fixed when it fails, and the user gets the answer, the charts and
the notebook. ``interpreter.run_interpreter`` is the loop; the runtime wires it like a company run."""
