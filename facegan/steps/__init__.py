"""One compiled training step per loss family. `FAMILIES` maps a registry entry's `family` to its class."""

from facegan import registry
from facegan.steps.aegan import AeganFamily
from facegan.steps.base import Family
from facegan.steps.fastgan import FastganFamily
from facegan.steps.gan import GanAltFamily, GanFamily
from facegan.steps.vae import VaeFamily
from facegan.steps.wgan import WganGpFamily

FAMILIES = {
    "gan": GanFamily,
    "gan-alt": GanAltFamily,
    "aegan": AeganFamily,
    "vae": VaeFamily,
    "wgan-gp": WganGpFamily,
    "fastgan": FastganFamily,
}


def build_family(cfg, nets: dict) -> Family:
    """The loss family of cfg's model over `nets`, with loss scaling under float16."""
    return FAMILIES[registry.get(cfg.model).family](cfg, nets, loss_scaling=cfg.precision == "float16")
