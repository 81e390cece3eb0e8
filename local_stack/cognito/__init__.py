"""A Cognito-compatible user pool: moto's cognito-idp server, seeded with the local pool and client."""
