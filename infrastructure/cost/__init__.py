"""Monthly AWS cost estimate of a stage, from its synthesized template and a usage profile."""
