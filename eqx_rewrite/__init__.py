"""eqx-rewrite: find and rewrite slow JAX/Equinox patterns, keeping behaviour."""

__version__ = "0.1.0"
