"""Analysis of a run directory: pure functions, arrays in, arrays and figures out."""
