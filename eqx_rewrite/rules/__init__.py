"""Every rule module; importing this package registers them all."""

from . import (  # noqa: F401
    deprecated_api,
    init_kwargs,
    jit_in_loop,
    module_mutation,
    prng_key_reuse,
    python_loop_ensemble,
    pytree_step_loop,
    scan_carry_unused,
    unrolled_layers,
)
