from cadchat.cli import main

raise SystemExit(main())
