"""One compiled training step per loss family, one module each; a model's registry entry names its family's
class (`ModelSpec.step`)."""

from facegan import registry
from facegan.steps.base import Family


def build_family(cfg, nets: dict) -> Family:
    """The loss family of cfg's model over `nets`, with loss scaling under float16."""
    return registry.get(cfg.model).build_step(cfg, nets, loss_scaling=cfg.precision == "float16")
