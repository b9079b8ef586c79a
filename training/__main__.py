"""`python -m training ...` is the same as `modlens train|export|evaluate ...`."""

from training.cli import main

raise SystemExit(main())
