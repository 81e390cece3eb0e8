"""Talking to a stage, local or deployed: where its endpoints and tables are, how to get a
speaker token, how to run a schedule rule now, and boto3 clients pointed at it.

The load suite, `make verify`, `make promote` and the local stack's command line all reach a
stage through this package, so none of them needs to know how another one does it.
"""
