"""Code shared by the payment functions; the build copies this package into every function's zip, next to
that function's `handler.py`, so it may import only the standard library, boto3, aws_lambda_powertools and
pydantic (what the python3.12 runtime and the Powertools layer provide)."""
