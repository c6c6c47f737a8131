"""``python -m facies <job> ...``: the ``facies`` command without the console script."""

from facies.cli import main

raise SystemExit(main())
