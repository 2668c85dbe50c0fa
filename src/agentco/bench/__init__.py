"""Benchmarks that measure the product: project tasks, HumanEval, framework overhead, local model speed."""
