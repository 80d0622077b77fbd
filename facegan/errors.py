class FaceganError(Exception):
    """A problem with the user's input: the CLI prints it as one red line and exits with code 2."""


class TrainingStopped(FaceganError):
    """Training ended early, with every file written: interrupted by a signal, or stopped by the health guard."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class FaceganWarning(UserWarning):
    """Something the user should know that does not stop the command: the CLI prints it as one yellow line."""
