"""Lambda functions from the template, each in worker processes of its own, as execution environments."""
