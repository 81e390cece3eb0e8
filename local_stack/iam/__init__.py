"""IAM as the template grants it: each function calls AWS with credentials of its own role."""
