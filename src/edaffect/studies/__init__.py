"""The studies built on the layers below: Res-SIN, continuous emotion, MAAN, leakage."""
