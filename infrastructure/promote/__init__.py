"""Gated promotion: a deployment step next to `verify` and `cost`, which runs the load suite as its gate."""
