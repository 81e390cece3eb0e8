"""EventBridge schedule rules from the template, run on their schedule (time-scaled) or on demand."""
