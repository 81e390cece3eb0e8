"""AWS's own DynamoDB Local, launched from the project's npm packages, with tables from the template."""
