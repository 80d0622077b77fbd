from facegan.cli import app

app(prog_name="facegan")
