"""One compiled training step per loss family, one module each; a model's registry entry names its family's
class (`ModelSpec.step`)."""

from facegan import registry
from facegan.steps.base import Family


def build_family(cfg, nets: dict, xla_networks: bool = False) -> Family:
    """The loss family of cfg's model over `nets`, with loss scaling under float16, then its optimizers.
    `xla_networks`: XLA compiles each network the steps call (--xla over several replicas; see compile_step)."""
    family = registry.get(cfg.model).build_step(cfg, nets, loss_scaling=cfg.precision == "float16",
                                                xla_networks=xla_networks)
    family.optimizers = family.make_optimizers(family.loss_scaling)
    return family
