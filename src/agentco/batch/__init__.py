"""Batches of runs: many ideas, each a run of the runtime in its own project folder, on this machine
(threads) or on a Ray cluster (tasks). The run store is the batch's memory: re-running a batch skips
its finished runs and resumes the rest, so no model call is paid for twice."""
