"""The embedded local stack: runs the synthesized CDK template on one machine, no Docker, no AWS account.

One folder per emulated service (as moto does), each with its models apart from its wire handling.
"""
