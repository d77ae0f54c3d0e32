import json

import pytest

from devtools.devhost.host_json import HostJsonError, load_host_json, parse_host_json, parse_timespan


def cfg(queues=None, development=False, **top):
    return parse_host_json({"version": "2.0", "extensions": {"queues": queues or {}}, **top}, development=development)


def test_defaults_match_the_host_with_one_processor():
    q = cfg().queues
    assert (q.batch_size, q.new_batch_threshold, q.max_polling_interval, q.visibility_timeout,
            q.max_dequeue_count, q.message_encoding) == (16, 8, 60.0, 0.0, 5, "base64")
    assert q.max_concurrency == 24
    assert cfg().route_prefix == "api"


def test_development_shortens_only_the_default_polling_interval():
    assert cfg(development=True).queues.max_polling_interval == 2.0
    assert cfg({"maxPollingInterval": "00:00:10"}, development=True).queues.max_polling_interval == 10.0


def test_threshold_defaults_to_half_the_batch():
    assert cfg({"batchSize": 5}).queues.new_batch_threshold == 2


@pytest.mark.parametrize("size", [0, 33, -1])
def test_batch_size_out_of_range_is_an_error(size):
    with pytest.raises(HostJsonError, match=r"batchSize must be 1\.\.32"):
        cfg({"batchSize": size})


@pytest.mark.parametrize("queues", [{"maxDequeueCount": 0}, {"newBatchThreshold": -1},
                                    {"maxPollingInterval": "00:00:00.05"}, {"messageEncoding": "utf8"},
                                    {"batchSize": "8"}, {"visibilityTimeout": "soon"}])
def test_invalid_values_are_errors(queues):
    with pytest.raises(HostJsonError):
        cfg(queues)


def test_timespans():
    assert parse_timespan("00:00:02", "k") == 2
    assert parse_timespan("00:00:00.5", "k") == 0.5
    assert parse_timespan("1.02:00:00", "k") == 93600
    assert parse_timespan(60000, "k") == 60


def test_route_prefix_and_version(tmp_path):
    assert parse_host_json({"version": "2.0", "extensions": {"http": {"routePrefix": ""}}},
                           development=False).route_prefix == ""
    with pytest.raises(HostJsonError, match="version"):
        parse_host_json({}, development=False)
    path = tmp_path / "host.json"
    path.write_text(json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": "/v1/"}}}))
    assert load_host_json(path, development=False).route_prefix == "v1"
    with pytest.raises(HostJsonError, match="not found"):
        load_host_json(tmp_path / "nope.json", development=False)


def test_the_repository_host_json_is_valid():
    from devtools.devhost.process import ROOT

    config = load_host_json(ROOT / "host.json", development=True)
    assert config.queues.max_dequeue_count == 5
