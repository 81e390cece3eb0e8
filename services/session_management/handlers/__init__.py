"""One module per Lambda function; each stays thin and delegates to the domain modules."""
