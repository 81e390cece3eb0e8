"""`make verify STAGE=...`: the deployment checklist and a smoke test against a running stage."""
