class FaceganError(Exception):
    """A problem with the user's input: the CLI prints it as one red line and exits with code 2."""
