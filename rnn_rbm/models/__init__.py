"""The models of piano-roll sequences: the interface (base.py), the registry by name
(registry.py), and one module per model."""
