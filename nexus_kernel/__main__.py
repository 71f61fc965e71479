"""``python -m nexus_kernel``: the command line (see ``cli``)."""

from .cli import main

raise SystemExit(main())
