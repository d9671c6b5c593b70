from swarmbench.cli import main

raise SystemExit(main())
