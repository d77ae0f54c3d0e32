import azure.functions as func
import pytest

from devtools.devhost.app_loader import AppLoadError, build_spec, find_function_app
from devtools.devhost.http_server import to_response


def only(app):
    (function,) = app.get_functions()
    return function


def test_http_trigger_spec_defaults():
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route()
    async def hello(req):
        return "hi"

    spec = build_spec(only(app))
    assert (spec.kind, spec.trigger["route"], spec.trigger["methods"], spec.trigger["authLevel"], spec.is_async) == (
        "http", "hello", [], "function", True)


def test_queue_output_bindings_are_read_other_bindings_refused_naming_function_and_binding():
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name="in", connection="")
    @app.queue_output(arg_name="out", queue_name="out", connection="")
    def relay(msg, out):
        pass

    [output] = build_spec(only(app)).outputs
    assert (output["name"], output["queueName"]) == ("out", "out")
    other = func.FunctionApp()

    @other.queue_trigger(arg_name="msg", queue_name="in", connection="")
    @other.blob_output(arg_name="out", path="c/b", connection="")
    def copy(msg, out):
        pass

    with pytest.raises(AppLoadError, match=r"'copy'.*'out'.*'blob'"):
        build_spec(only(other))


def test_timer_spec_and_context_parameter():
    app = func.FunctionApp()

    @app.timer_trigger(schedule="%S%", arg_name="timer", run_on_startup=True)
    def tick(timer, context):
        pass

    spec = build_spec(only(app))
    assert (spec.kind, spec.trigger["schedule"], spec.trigger["runOnStartup"], spec.wants_context) == (
        "timer", "%S%", True, True)


def test_exactly_one_function_app_per_module():
    class Module:
        __name__ = "m"

    with pytest.raises(AppLoadError, match="exactly one"):
        find_function_app(Module)


def test_response_content_type_follows_the_python_worker():
    text = to_response(func.HttpResponse("hé", status_code=201))
    assert (text.status_code, text.headers["Content-Type"], text.get_data()) == (
        201, "text/plain; charset=utf-8", "hé".encode())
    data = to_response(func.HttpResponse("{}", mimetype="application/json", headers={"X-A": "1"}))
    assert data.headers["Content-Type"] == "application/json" and data.headers["X-A"] == "1"
    explicit = to_response(func.HttpResponse("x", headers={"content-type": "text/csv"}))
    assert explicit.headers["Content-Type"] == "text/csv"


def test_str_is_text_and_none_is_204():
    assert to_response("ok").headers["Content-Type"] == "text/plain; charset=utf-8"
    assert to_response(None).status_code == 204
    with pytest.raises(TypeError):
        to_response({"a": 1})


def test_unsupported_trigger_types_are_refused():
    app = func.FunctionApp()

    @app.blob_trigger(arg_name="blob", path="c/{name}", connection="")
    def on_blob(blob):
        pass

    with pytest.raises(AppLoadError, match=r"'on_blob'.*blobTrigger.*not supported"):
        build_spec(only(app))
