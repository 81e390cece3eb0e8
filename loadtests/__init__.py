"""Locust load suite with p95 gates: scenarios, user classes, the state verifier, the gate evaluator and promotion."""
