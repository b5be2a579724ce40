"""The strict CSMS peer: ocpp-rpc (npm) in strictMode, run by node, behind the Python API of
``ocpp_bridge.demo.csms.Csms``. ``server.js`` is the node side, ``peer.py`` the Python side,
``package.json``/``package-lock.json`` pin ocpp-rpc (installed by scripts/install-strict-csms.sh)."""
