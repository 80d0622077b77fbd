"""Network builders, one module per family. Each `build_*(cfg)` returns a dict of Keras models
named "generator" (latent -> image, always), "discriminator" and "encoder" where the model has them, and
"decoder" for fastgan's (the decoders that regularize its discriminator).
Output layers compute in float32 so that losses stay float32 under mixed precision."""
