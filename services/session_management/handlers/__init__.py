"""The Lambda entry points and the composition root: each handler asks
`session_management.dependencies` for its dependencies and passes them to the domain.

A module per Lambda function, named by the template's `Handler` string. The connection function
serves more than one kind of event; its entry module (connection.py) only routes each kind to the
module that handles it (connect.py, session_messages.py, delivery.py)."""
