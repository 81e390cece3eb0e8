"""The CDK app's constructs: one module per resource group, assembled by `stack.py`."""
