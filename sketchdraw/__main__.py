import sys

from sketchdraw.cli import main

sys.exit(main())
