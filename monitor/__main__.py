from monitor.commands import main

raise SystemExit(main())
