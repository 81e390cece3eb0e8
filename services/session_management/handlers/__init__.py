"""The Lambda entry points and the composition root: each handler asks
`session_management.dependencies` for its dependencies and passes them to the domain.

A module per Lambda function, named by the template's `Handler` string. Two functions serve more
than one kind of event; their entry modules (connection.py, status.py) only route each kind to
the module that handles it (connect.py, session_messages.py, delivery.py; session_status.py,
periodic_job.py)."""
