"""Import the app's function_app module and read its registrations via ``get_functions()``.

No hand-kept list: every function, its trigger and its bindings come from the FunctionApp
object the module defines (the Python worker's indexing does the same). ``get_functions()``
may be called only once per FunctionApp, so the result is cached per object.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path

import azure.functions as func

SUPPORTED_TRIGGERS = {"httpTrigger": "http", "queueTrigger": "queue", "timerTrigger": "timer"}
_FUNCTIONS_CACHE: dict[int, tuple[object, list]] = {}


class AppLoadError(RuntimeError):
    """The app cannot be imported or uses something the dev host does not support."""


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    kind: str  # http | queue | timer
    arg_name: str
    trigger: dict  # the trigger binding's dict representation (host names: queueName, route, ...)
    user_function: object = field(repr=False)
    is_async: bool = False
    wants_context: bool = False
    outputs: tuple[dict, ...] = ()  # queue output bindings: {"name", "queueName", "connection"}
    disabled: bool = False  # AzureWebJobs.<name>.Disabled: no listener or timer; HTTP only with the master key

    def describe(self) -> str:
        if self.kind == "http":
            return str(self.trigger.get("route") or self.name)
        if self.kind == "queue":
            return str(self.trigger.get("queueName"))
        return str(self.trigger.get("schedule"))


def import_app_module(app: str, app_dir: Path):
    """``app`` is a module name importable from ``app_dir`` or a path to a .py file."""
    app_dir = Path(app_dir).resolve()
    if app.endswith(".py") or "/" in app:
        path = (app_dir / app).resolve()
        if not path.is_file():
            raise AppLoadError(f"app file {path} not found")
        _on_path(path.parent, front=False)  # after everything else: never shadow other modules
        unique = f"_devhost_app_{abs(hash(str(path)))}_{len(_FUNCTIONS_CACHE)}"
        spec = importlib.util.spec_from_file_location(unique, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise AppLoadError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
        return module
    _on_path(app_dir)
    try:
        return importlib.import_module(app)
    except Exception as exc:
        raise AppLoadError(f"importing module {app!r} from {app_dir} failed: {type(exc).__name__}: {exc}") from exc


def _on_path(directory: Path, front: bool = True) -> None:
    if str(directory) not in sys.path:
        if front:
            sys.path.insert(0, str(directory))
        else:
            sys.path.append(str(directory))


def _is_function_app(value) -> bool:
    register = getattr(func, "FunctionRegister", None)  # azure-functions 1.x and 2.x export it; duck-type if not
    if register is not None:
        return isinstance(value, register)
    return not isinstance(value, type) and callable(getattr(value, "get_functions", None))


def find_function_app(module):
    apps = [v for v in vars(module).values() if _is_function_app(v)]
    unique = list({id(a): a for a in apps}.values())
    if len(unique) != 1:
        raise AppLoadError(f"{module.__name__} must define exactly one FunctionApp at module level, "
                           f"found {len(unique)}")
    return unique[0]


def get_functions_once(app) -> list:
    cached = _FUNCTIONS_CACHE.get(id(app))
    if cached is None or cached[0] is not app:
        cached = (app, app.get_functions())
        _FUNCTIONS_CACHE[id(app)] = cached
    return cached[1]


def _value(v):
    return getattr(v, "value", v)


def build_spec(function) -> FunctionSpec:
    name = function.get_function_name()
    bindings = [{k: _value(v) for k, v in b.get_dict_repr().items()} for b in function.get_bindings()]
    triggers = [b for b in bindings if str(b.get("type", "")).endswith("Trigger")]
    if len(triggers) != 1:
        raise AppLoadError(f"function {name!r} has {len(triggers)} trigger bindings; exactly one is needed")
    trigger = triggers[0]
    kind = SUPPORTED_TRIGGERS.get(trigger["type"])
    if kind is None:
        raise AppLoadError(f"function {name!r}: trigger type {trigger['type']!r} is not supported by the dev host "
                           f"(supported: {', '.join(SUPPORTED_TRIGGERS)})")
    outputs = []
    for b in bindings:
        if b is trigger or (kind == "http" and b.get("type") == "http" and b.get("name") == "$return"):
            continue
        if b.get("type") == "queue" and str(b.get("direction")).lower() in ("1", "out") and b.get("name") != "$return":
            outputs.append(b)
            continue
        raise AppLoadError(f"function {name!r}: binding {b.get('name')!r} of type {b.get('type')!r} is not "
                           "supported by the dev host (it supports queue output bindings to named parameters); "
                           "do this I/O through the app's own adapters")
    if kind == "http":
        trigger["methods"] = [str(_value(m)).upper() for m in trigger.get("methods") or []]
        trigger["authLevel"] = str(trigger.get("authLevel") or "function").lower()
    user = function.get_user_function()
    params = inspect.signature(user).parameters
    if trigger["name"] not in params:
        raise AppLoadError(f"function {name!r}: its trigger argument {trigger['name']!r} is not a parameter")
    extra = [p for p in params if p not in (trigger["name"], "context", *(o["name"] for o in outputs))]
    if extra:
        raise AppLoadError(f"function {name!r}: parameters {extra} have no binding")
    return FunctionSpec(name=name, kind=kind, arg_name=trigger["name"], trigger=trigger, user_function=user,
                        is_async=inspect.iscoroutinefunction(user), wants_context="context" in params,
                        outputs=tuple(outputs))


def load_functions(app: str, app_dir: Path) -> list[FunctionSpec]:
    module = import_app_module(app, app_dir)
    functions = get_functions_once(find_function_app(module))
    specs = [build_spec(f) for f in functions]
    if not specs:
        raise AppLoadError(f"{app} registers no functions")
    return specs
