"""The embedded local stack: runs the synthesized CDK template on one machine, no Docker, no AWS account.

One folder per emulated service (as moto does), each with its models apart from its wire handling
(`responses.py`: the service's own routes). `supervisor.py` starts the processes; each gateway
process is assembled in `gateway_process.py`, the composition root.
"""
