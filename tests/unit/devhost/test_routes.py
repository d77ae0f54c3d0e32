import pytest

from devtools.devhost.routes import RouteError, RouteTable


@pytest.fixture
def table():
    t = RouteTable("api")
    t.add("items/{id:int}", "item", ["GET"])
    t.add("items/new", "new", ["GET"])
    t.add("people/{name:alpha}/{tab?}", "person", [])
    t.add("health", "health", ["GET", "HEAD"])
    t.add("files/{*path}", "files", ["GET"])
    t.add("range/{n:range(1,5)}", "range", ["GET"])
    return t


def test_params_come_back_as_strings(table):
    found = table.resolve("GET", "/api/items/42")
    assert (found.status, found.route.target, found.params) == (200, "item", {"id": "42"})


def test_int_constraint_rejects_non_numbers(table):
    assert table.resolve("GET", "/api/items/abc").status == 404
    assert table.resolve("GET", "/api/items/99999999999").status == 404  # beyond int32


def test_literal_segment_beats_parameter(table):
    assert table.resolve("GET", "/api/items/new").route.target == "new"


def test_optional_parameter_may_be_absent(table):
    assert table.resolve("GET", "/api/people/ada").params == {"name": "ada"}
    assert table.resolve("GET", "/api/people/ada/calendar").params == {"name": "ada", "tab": "calendar"}
    assert table.resolve("GET", "/api/people/ada7").status == 404


def test_no_methods_means_every_method(table):
    assert table.resolve("PATCH", "/api/people/ada").status == 200


def test_wrong_method_is_405_with_the_allowed_ones(table):
    found = table.resolve("POST", "/api/health")
    assert (found.status, found.allowed) == (405, ["GET", "HEAD"])


def test_unknown_path_and_missing_prefix_are_404(table):
    assert table.resolve("GET", "/api/nothing").status == 404
    assert table.resolve("GET", "/health").status == 404


def test_literals_are_case_insensitive_and_values_are_decoded(table):
    assert table.resolve("GET", "/API/Health").status == 200
    assert table.resolve("GET", "/api/files/a/b%20c.txt").params == {"path": "a/b c.txt"}


def test_constraint_with_arguments(table):
    assert table.resolve("GET", "/api/range/3").status == 200
    assert table.resolve("GET", "/api/range/6").status == 404


def test_empty_prefix_and_custom_prefix():
    bare = RouteTable("")
    bare.add("ping", "p")
    assert bare.resolve("GET", "/ping").status == 200
    custom = RouteTable("v1/x")
    custom.add("ping", "p")
    assert custom.resolve("GET", "/v1/x/ping").status == 200


@pytest.mark.parametrize("bad", ["a/{x?}/b", "{x:nope}", "{x}/{x}", "{1x}"])
def test_bad_templates_are_rejected(bad):
    with pytest.raises(RouteError):
        RouteTable().add(bad, "t")
