"""The README's table of configuration options, generated from ``manifest.yaml``.

``python -m ocpp_bridge.readme_options`` prints it; a test keeps the README in step.
"""

from __future__ import annotations

from ocpp_bridge.everest.definitions import Definitions


def options_table(definitions: Definitions | None = None) -> str:
    definitions = definitions or Definitions.load()
    rows = ["| option | type | default | meaning |", "|---|---|---|---|"]
    for name, spec in definitions.config_options().items():
        meaning = " ".join(str(spec["description"]).split())
        default = spec.get("default")
        shown = f"`{str(default).lower()}`" if isinstance(default, bool) else (f"`{default}`" if default != "" else '`""`')
        rows.append(f"| `{name}` | {spec['type']} | {shown} | {meaning} |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover
    print(options_table())
