"""The file spark-submit runs: `spark-submit .../prodmatch/spark/__main__.py spark match ...`."""

from prodmatch.cli import app

if __name__ == "__main__":
    app(prog_name="prodmatch")
