"""Measures of generated images, shared by the training loop and the analysis commands: pure functions of
arrays, NumPy only (importing them starts no TensorFlow)."""
