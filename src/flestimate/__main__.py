import sys

from flestimate.cli import main

sys.exit(main())
