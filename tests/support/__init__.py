"""What the test suites share, one module per job; no test module imports another.

- stacks.py: start a local stack of a suite's own and stop it after (every stack fixture).
- local_stage_fixtures.py: the `stack`, `dynamodb`, `tables`, `speaker_token` fixtures of stage `local`.
- probe_stack.py (+ probe_functions/): the fidelity suite's probe template, built and started.
- websocket_client.py: the contract-checking WebSocket client.
- session_clients.py: a speaker creating a session, a listener joining one.
- waiting.py: waiting for asynchronous effects with a deadline.
- stack_state.py: a running stack's processes, tables, rows and counts.
- clients.py: boto3 clients for a local stack; tokens.py: forged and foreign ID tokens.
- event_shapes.py, privacy.py, reliability_report.py, openapi.py: checks and reports over a run.
"""
