"""Small repositories over the low-level DynamoDB client: one per table, each owning its key and
condition expressions, so the rules that keep counts exact live in one place."""
