import base64

import pytest

from devtools.devhost.queue_processor import (
    Outcome,
    decode_body,
    outcome_after_call,
    poison_before_call,
    poison_queue_name,
)


def test_a_message_over_the_limit_goes_to_poison_without_a_call():
    assert poison_before_call(6, 5)
    assert not poison_before_call(5, 5)


@pytest.mark.parametrize(("ok", "count", "expected"), [
    (True, 1, Outcome.DELETE), (True, 5, Outcome.DELETE),
    (False, 1, Outcome.RELEASE), (False, 4, Outcome.RELEASE), (False, 5, Outcome.POISON), (False, 7, Outcome.POISON),
])
def test_outcome_after_the_call(ok, count, expected):
    assert outcome_after_call(ok, count, 5, "work") is expected


def test_poison_queue_names():
    assert poison_queue_name("work") == "work-poison"
    assert poison_queue_name("work-poison") is None
    assert poison_queue_name("q" * 57) is None  # 57 + 7 > 63


def test_no_poison_queue_means_a_failed_last_try_stays_hidden():
    assert outcome_after_call(False, 5, 5, "work-poison") is Outcome.LEAVE_HIDDEN


def test_body_decoding():
    assert decode_body(base64.b64encode(b'{"a":1}').decode(), "base64") == b'{"a":1}'
    assert decode_body('{"a":1}', "none") == b'{"a":1}'
    with pytest.raises(ValueError, match="base64"):
        decode_body("not base64!", "base64")
