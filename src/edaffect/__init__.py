"""edaffect: emotion recognition from electrodermal activity (EDA) and music.

Re-creates the RTCAN-1D and Res-SIN studies as a Snakemake workflow; this package holds the
logic, the workflow's rule scripts only call it.
"""

__version__ = "0.1.0"
