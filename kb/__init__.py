"""policy-as-data: a versioned knowledge base of health-plan clinical drug policies."""
