import pytest

from devtools.devhost.backoff import RandomizedExponentialBackoff


def seq(backoff, results):
    return [round(backoff.next_delay(r), 4) for r in results]


def test_empty_polls_grow_exponentially_to_the_maximum():
    b = RandomizedExponentialBackoff(2.0, uniform=lambda lo, hi: 0.1)  # the random factor pinned at 1.0
    assert seq(b, [False] * 8) == [0.1, 0.2, 0.3, 0.5, 0.9, 1.7, 2.0, 2.0]


def test_random_factor_is_drawn_between_80_and_120_percent_of_delta():
    draws = []
    b = RandomizedExponentialBackoff(60.0, uniform=lambda lo, hi: draws.append((lo, hi)) or hi)
    assert seq(b, [False] * 3) == [0.1, 0.22, 0.34]
    assert draws == [(pytest.approx(0.08), pytest.approx(0.12))] * 2


def test_success_resets_to_the_minimum_then_backs_off_again():
    b = RandomizedExponentialBackoff(60.0, uniform=lambda lo, hi: 0.1)
    seq(b, [False] * 5)
    assert seq(b, [True, False, False]) == [0.1, 0.2, 0.3]


def test_maximum_sticks_once_reached():
    b = RandomizedExponentialBackoff(0.25, uniform=lambda lo, hi: 0.1)
    assert seq(b, [False] * 5) == [0.1, 0.2, 0.25, 0.25, 0.25]


def test_maximum_below_minimum_is_rejected():
    with pytest.raises(ValueError):
        RandomizedExponentialBackoff(0.05)
