"""The CDK app: everything Fortnox Bridge runs on, in one stack."""
