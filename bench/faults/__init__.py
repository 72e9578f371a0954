"""Scripted fault scenarios: each module runs one fault against real processes and asserts
what must still hold at the end (``python -m bench.faults.<name>``; ``make proof`` runs all)."""
