"""The app's own function registrations, read once (``get_functions()`` may run only once per FunctionApp)."""

import functools

import function_app


@functools.cache
def functions() -> dict:
    return {f.get_function_name(): f for f in function_app.app.get_functions()}


def trigger(fn):
    return next(b for b in fn.get_bindings() if b.type.endswith("Trigger"))


def auth_level(fn) -> str:
    level = trigger(fn).auth_level
    return str(getattr(level, "value", level)).lower()


def http_functions() -> dict:
    return {name: fn for name, fn in functions().items() if trigger(fn).type == "httpTrigger"}
