"""Res-SIN (Yin et al., ICIP 2019): components, signal images, regression, training and tables."""
