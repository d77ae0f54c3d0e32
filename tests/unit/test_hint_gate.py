from datetime import timedelta

from shared.messages import ROOM_CHANGES, RoomChange
from shared.sync.hint_gate import HintGate
from tests.fakes import FixedClock
from tests.unit.test_notifications import SUB_A, _body, _item, _world

KEY = ("t", "room@contoso.com")


class TestHintGate:
    def test_a_quiet_room_gets_its_hint_at_once(self):
        clock = FixedClock()
        assert HintGate().plan(KEY, clock.now()) == (0, clock.now())

    def test_a_burst_costs_one_immediate_and_one_delayed_hint(self):
        """The delayed hint is stamped with the moment it becomes visible, so its round starts
        after every notification it swallowed."""
        gate, clock = HintGate(delay_seconds=1, margin_seconds=0.25), FixedClock()
        plans = []
        for _ in range(150):  # 150 notifications over 750 ms
            plans.append(gate.plan(KEY, clock.now()))
            clock.advance(milliseconds=5)
        sent = [p for p in plans if p is not None]
        assert len(sent) == 2
        assert sent[0][0] == 0 and sent[1][0] == 1
        first = FixedClock().now()
        assert sent[1][1] == first + timedelta(milliseconds=5) + timedelta(seconds=1)

    def test_every_notification_is_covered_by_a_hint_visible_after_it(self):
        gate, clock = HintGate(delay_seconds=1, margin_seconds=0.25), FixedClock()
        visible: list = []
        for step in range(600):
            now = clock.now()
            plan = gate.plan(KEY, now)
            if plan is not None:
                visible.append(now + timedelta(seconds=plan[0]))
            assert any(v >= now for v in visible), step  # some hint becomes visible at or after it
            clock.advance(milliseconds=7 if step % 50 else 900)

    def test_rooms_are_gated_independently(self):
        gate, clock = HintGate(), FixedClock()
        assert gate.plan(("t", "a@x.com"), clock.now()) is not None
        assert gate.plan(("t", "b@x.com"), clock.now()) is not None


def test_the_webhook_sends_far_fewer_hints_than_notifications_in_a_burst():
    service, _, queue = _world()
    clock = service._clock
    for _ in range(200):
        service.accept_changes(_body(_item(SUB_A, "secret-a")))
        clock.advance(milliseconds=4)
    hints = [(p, d) for q, p, d in queue.sent if q == ROOM_CHANGES]
    assert len(hints) <= 3
    delayed = [RoomChange(**p) for p, d in hints if d == 1]
    assert delayed and all(h.at > FixedClock().now() for h in delayed)
