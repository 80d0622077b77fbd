"""One compiled training step per loss family. `FAMILIES` maps a registry `steps` key to its class."""

from facegan.steps.aegan import AeganSteps
from facegan.steps.gan import GanAltSteps, GanSteps
from facegan.steps.vae import VaeSteps
from facegan.steps.wgan import WganGpSteps

FAMILIES = {
    "gan": GanSteps,
    "gan-alt": GanAltSteps,
    "aegan": AeganSteps,
    "vae": VaeSteps,
    "wgan-gp": WganGpSteps,
}
