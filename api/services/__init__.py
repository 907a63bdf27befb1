"""Business logic of the plan service; routes only translate HTTP to these calls."""
