"""A WebSocket gateway that behaves like API Gateway for the routes, authorizer and stage in the template."""
