"""Every rule module; importing this package registers them all."""

from . import module_mutation, scan_carry_unused  # noqa: F401
