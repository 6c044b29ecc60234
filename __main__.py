"""global-platform: read stack config, load the environment's manifest, build every region, export."""

from program.main import run

run()
