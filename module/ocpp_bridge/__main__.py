"""``python -m ocpp_bridge``: same as the ``ocpp-bridge`` console script."""

from ocpp_bridge.cli import main

raise SystemExit(main())
