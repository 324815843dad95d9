"""Every rule module; importing this package registers them all."""

from . import module_mutation, pytree_step_loop, scan_carry_unused, unrolled_layers  # noqa: F401
