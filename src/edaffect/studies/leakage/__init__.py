"""How much the original protocol's subject leak inflates accuracy."""
