"""facegan: train face GANs and find out what they learned.

Importing the package is cheap: TensorFlow is imported only by the modules that
build networks or train (`facegan.nets`, `facegan.steps`, `facegan.training`).
"""

__version__ = "0.1.0"
