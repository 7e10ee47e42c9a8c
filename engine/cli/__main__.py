import sys

from ibs.engine.cli.app import main

sys.exit(main())
