"""`python -m simulation`: see `simulation.run.main`."""

from simulation.run import main

raise SystemExit(main())
