"""The software company: product manager, architect, project manager, engineers and QA."""
