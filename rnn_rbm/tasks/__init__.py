"""The tasks behind the entry points: pretrain, train, generate, evaluate; each takes settings and returns results (no argv)."""
