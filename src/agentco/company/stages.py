"""The names of the company's stages: what each role's messages are caused by, and what roles watch.

Roles import these; the ``PIPELINE`` table (``pipeline.py``) wires them, so no role spells a stage's name.
"""

from agentco.core.message import USER_REQUIREMENT

WRITE_PRD = "WritePRD"
WRITE_DESIGN = "WriteDesign"
WRITE_TASKS = "WriteTasks"
WRITE_CODE = "WriteCode"
FIX_REQUEST = "FixRequest"
FIX_CODE = "FixCode"
RUN_TESTS = "RunTests"

REVIEWABLE = {WRITE_PRD: "prd", WRITE_DESIGN: "design", WRITE_TASKS: "tasks"}
"""The stages a reviewer may be asked about (``--review prd,design,tasks``), by what their messages are caused by."""

__all__ = ["REVIEWABLE", "FIX_CODE", "FIX_REQUEST", "RUN_TESTS", "USER_REQUIREMENT", "WRITE_CODE", "WRITE_DESIGN", "WRITE_PRD",
           "WRITE_TASKS"]  # fmt: skip
