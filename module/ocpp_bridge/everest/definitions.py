"""The module's EVerest definitions and the validators built from them.

Owns reading ``manifest.yaml``, ``interfaces/*.yaml`` and ``types/*.yaml`` from the module root
and checking bus traffic against them: command arguments, command results and variable values.

Rules follow EVerest's framework (``everest.md`` §2):

- ``$ref: /<file>#/<Type>`` names the ``types:`` map of ``types/<file>.yaml``; the fragment is a
  JSON pointer into that map. References inside type files resolve the same way.
- Schemas are draft-07. As in draft-07 and in EVerest's validator, keywords beside ``$ref``
  (``type: object`` next to a reference, for instance) are ignored.
- Every declared argument of a command is required, and no other argument is allowed.
- A command without ``result`` returns ``null``.
- Formats: ``date-time`` must be RFC 3339, ``uri`` must contain ``://``, ``uri-reference`` must
  look like ``/file#/Name``; other formats are not checked.

Validators are built once, when the definitions are loaded, and reused for every message.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml
from jsonschema.exceptions import SchemaError, best_match
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT7

from ocpp_bridge import yaml_load
from ocpp_bridge.paths import DefinitionsProblem, module_root
from ocpp_bridge.rfc3339 import is_date_time

__all__ = ["Command", "DefinitionError", "Definitions", "ValidationFailure", "FORMAT_CHECKER"]


class DefinitionError(DefinitionsProblem):
    """A definition file is missing or broken (bad YAML, bad schema, unresolvable ``$ref``)."""


class ValidationFailure(Exception):
    """A value does not match its definition; ``str()`` names the argument or field."""


@dataclass(frozen=True)
class Command:
    """One command of an interface: argument name -> schema, and the result schema (or None)."""

    name: str
    arguments: dict
    result: dict | None


# --------------------------------------------------------------------------- formats

_URI_REFERENCE = re.compile(r"^((?:\/[a-zA-Z0-9\-\_]+)+#\/[a-zA-Z0-9\-\_]+)$")

FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


@FORMAT_CHECKER.checks("date-time")
def _is_date_time(value: object) -> bool:
    """RFC 3339 ``date-time`` (``rfc3339.is_date_time``)."""
    return not isinstance(value, str) or is_date_time(value)


@FORMAT_CHECKER.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or "://" in value


@FORMAT_CHECKER.checks("uri-reference")
def _is_uri_reference(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI_REFERENCE.match(value))


# --------------------------------------------------------------------------- helpers


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DefinitionError(f"cannot read {path}: {e}") from e
    try:
        return yaml_load.safe_load(text)
    except yaml.YAMLError as e:
        raise DefinitionError(f"{path} is not valid YAML: {e}") from e


def _field_path(parts: Iterable[Any]) -> str:
    """``[0].component_variable.name`` style path of a value inside an argument."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _iter_refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _iter_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _iter_refs(value)


class Definitions:
    """Manifest, interfaces and types of one module root, with cached validators."""

    def __init__(self, root: Path, manifest: dict, types: dict[str, dict]):
        self.root = root
        self.manifest = manifest
        self._types = types
        # referencing's attrs classes declare their fields through a ``__dataclass_transform__``
        # stub mypy does not read, so it sees no constructor arguments (here and in _retrieve)
        self._registry: Registry = Registry(retrieve=self._retrieve).with_resources(  # type: ignore[call-arg]
            (f"/{name}", DRAFT7.create_resource(tmap)) for name, tmap in types.items()
        ).crawl()
        self._interfaces: dict[str, dict] = {}
        self._commands: dict[str, dict[str, Command]] = {}
        self._validators: dict[tuple[str, ...], jsonschema.Draft7Validator] = {}
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- loading

    @classmethod
    def load(cls, root: Path | None = None) -> Definitions:
        """Read everything under ``root`` (default: the module root) and build the validators of
        every interface the manifest provides or requires."""
        if root is None:
            try:
                root = module_root()
            except FileNotFoundError as e:
                raise DefinitionError(str(e)) from e
        root = Path(root)
        manifest = _read_yaml(root / "manifest.yaml")
        if not isinstance(manifest, dict):
            raise DefinitionError(f"{root / 'manifest.yaml'}: expected a mapping")
        types: dict[str, dict] = {}
        types_dir = root / "types"
        if types_dir.is_dir():
            for path in sorted(types_dir.glob("*.yaml")):
                doc = _read_yaml(path)
                if not isinstance(doc, dict) or not isinstance(doc.get("types", {}), dict):
                    raise DefinitionError(f"{path}: expected a mapping with a 'types' mapping")
                types[path.stem] = doc.get("types") or {}
        defs = cls(root, manifest, types)
        names = set(defs.provides().values()) | {r["interface"] for r in defs.requires().values()}
        for name in sorted(names):
            defs._prepare(name)
        return defs

    def _retrieve(self, uri: str) -> Resource:
        # Every type file is registered up front; anything else is a broken reference.
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # see __init__

    def _prepare(self, interface: str) -> None:
        """Load an interface, check its schemas and references, build its validators."""
        if interface in self._commands:  # fast path: already built
            return
        with self._lock:
            if interface in self._commands:
                return
            doc = self._load_interface(interface)
            commands: dict[str, Command] = {}
            validators: dict[tuple[str, ...], jsonschema.Draft7Validator] = {}
            where = f"interfaces/{interface}.yaml"
            for cname, cdef in (doc.get("cmds") or {}).items():
                if not isinstance(cdef, dict):
                    raise DefinitionError(f"{where}: command '{cname}' is not a mapping")
                args = cdef.get("arguments") or {}
                result = cdef.get("result")
                commands[cname] = Command(name=cname, arguments=dict(args), result=result)
                for aname, schema in args.items():
                    validators[(interface, "arg", cname, aname)] = self._build(
                        schema, f"{where}: argument '{aname}' of command '{cname}'")
                if result is not None:
                    validators[(interface, "result", cname)] = self._build(
                        result, f"{where}: result of command '{cname}'")
            for vname, schema in (doc.get("vars") or {}).items():
                validators[(interface, "var", vname)] = self._build(
                    schema, f"{where}: variable '{vname}'")
            self._validators.update(validators)
            self._commands[interface] = commands

    def _load_interface(self, name: str) -> dict:
        if name not in self._interfaces:
            if not re.match(r"^[a-zA-Z_][a-zA-Z0-9_.-]*$", name):
                raise DefinitionError(f"bad interface name {name!r}")
            doc = _read_yaml(self.root / "interfaces" / f"{name}.yaml")
            if not isinstance(doc, dict):
                raise DefinitionError(f"interfaces/{name}.yaml: expected a mapping")
            self._interfaces[name] = doc
        return self._interfaces[name]

    def _build(self, schema: Any, where: str) -> jsonschema.Draft7Validator:
        if not isinstance(schema, dict):
            raise DefinitionError(f"{where}: schema is not a mapping")
        try:
            jsonschema.Draft7Validator.check_schema(schema)
        except SchemaError as e:
            raise DefinitionError(f"{where}: invalid schema: {e.message}") from e
        resolver = self._registry.resolver()
        for ref in _iter_refs(schema):
            self._check_ref(resolver, ref, where, seen=set())
        return jsonschema.Draft7Validator(
            schema, registry=self._registry, format_checker=FORMAT_CHECKER)

    def _check_ref(self, resolver, ref: str, where: str, seen: set[str]) -> None:
        """Resolve ``ref`` and, transitively, every reference inside what it points to."""
        if ref in seen:
            return
        seen.add(ref)
        try:
            resolved = resolver.lookup(ref)
        except Unresolvable as e:
            raise DefinitionError(f"{where}: cannot resolve $ref {ref!r}") from e
        for inner in _iter_refs(resolved.contents):
            self._check_ref(resolved.resolver, inner, where, seen)

    # ----------------------------------------------------------------- manifest

    def provides(self) -> dict[str, str]:
        """Implementation id -> interface name."""
        return {impl: d["interface"] for impl, d in (self.manifest.get("provides") or {}).items()}

    def requires(self) -> dict[str, dict]:
        """Requirement id -> {interface, min_connections, max_connections} (defaults 1 and 1)."""
        out = {}
        for req, d in (self.manifest.get("requires") or {}).items():
            out[req] = {
                "interface": d["interface"],
                "min_connections": d.get("min_connections", 1),
                "max_connections": d.get("max_connections", 1),
            }
        return out

    def config_options(self) -> dict[str, dict]:
        """Module config option -> {type, description, default} (default None when absent)."""
        return {
            name: {"type": d.get("type"), "description": d.get("description"),
                   "default": d.get("default")}
            for name, d in (self.manifest.get("config") or {}).items()
        }

    def config_defaults(self) -> dict[str, object]:
        """Module config option -> its default, for the options that have one."""
        return {name: d["default"] for name, d in (self.manifest.get("config") or {}).items()
                if "default" in d}

    # ----------------------------------------------------------------- interfaces

    def interface(self, name: str) -> dict:
        """The parsed interface file ``interfaces/<name>.yaml``."""
        with self._lock:
            return self._load_interface(name)

    def commands(self, interface: str) -> dict[str, Command]:
        self._prepare(interface)
        return dict(self._commands[interface])

    def variables(self, interface: str) -> dict[str, dict]:
        self._prepare(interface)
        return dict(self._interfaces[interface].get("vars") or {})

    # ----------------------------------------------------------------- validation

    def check_arguments(self, interface: str, cmd: str, args) -> None:
        """Raise ValidationFailure unless ``args`` are exactly the declared arguments of ``cmd``,
        each valid. ``None`` counts as no arguments."""
        command = self._command(interface, cmd)
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise ValidationFailure(
                f"arguments of '{interface}.{cmd}' must be an object, got {type(args).__name__}")
        unknown = sorted(set(args) - set(command.arguments))
        if unknown:
            raise ValidationFailure(
                f"unknown argument{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(a) for a in unknown)} for '{interface}.{cmd}'")
        missing = [a for a in command.arguments if a not in args]
        if missing:
            raise ValidationFailure(
                f"missing argument{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(a) for a in missing)} for '{interface}.{cmd}'")
        for name, value in args.items():
            self._validate((interface, "arg", cmd, name), value, f"argument '{name}'")

    def check_result(self, interface: str, cmd: str, value) -> None:
        """Raise ValidationFailure unless ``value`` is a valid result of ``cmd``."""
        command = self._command(interface, cmd)
        if command.result is None:
            if value is not None:
                raise ValidationFailure(
                    f"result: '{interface}.{cmd}' returns nothing, got {type(value).__name__}")
            return
        self._validate((interface, "result", cmd), value, "result")

    def check_variable(self, interface: str, var: str, value) -> None:
        """Raise ValidationFailure unless ``value`` is valid for variable ``var``."""
        self._prepare(interface)
        key = (interface, "var", var)
        if key not in self._validators:
            raise ValidationFailure(f"interface '{interface}' has no variable '{var}'")
        self._validate(key, value, f"variable '{var}'")

    def _command(self, interface: str, cmd: str) -> Command:
        self._prepare(interface)
        try:
            return self._commands[interface][cmd]
        except KeyError:
            raise ValidationFailure(f"interface '{interface}' has no command '{cmd}'") from None

    def _validate(self, key: tuple[str, ...], value: Any, label: str) -> None:
        validator = self._validators[key]
        try:
            error = best_match(validator.iter_errors(value))
        except Unresolvable as e:  # pragma: no cover - references are checked at load
            raise DefinitionError(f"{label}: cannot resolve a $ref: {e}") from e
        if error is None:
            return
        path = _field_path(error.absolute_path)
        where = f"{label}: {path}: " if path else f"{label}: "
        raise ValidationFailure(where + _shorten(error.message))
