"""Settings of the change-notification surface (subscription.md, change-notifications-delivery-webhooks.md).
``world.Settings`` inherits them, so they are read and changed through ``/_control/settings`` like every other setting.

Durations marked *emulated* are divided by ``notify_time_scale`` (e.g. 1000 → 4 h of retries take 14.4 s);
answer timeouts and the batch window are real time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class NotifySettings:
    notify_time_scale: float = 1.0  # emulated seconds per real second for backoff, windows, delays
    notify_validation_timeout_s: float = 10.0  # handshake answer window (real)
    notify_answer_timeout_s: float = 3.0  # first delivery attempt (real) [NEWEST: 3 s]
    notify_retry_timeout_s: float = 10.0  # retries (real) [NEWEST: 10 s on retries]
    notify_retry_horizon_s: int = 14_400  # emulated: 4 h of retries, then discarded (+ `missed`)
    notify_backoff_base_s: float = 10.0  # emulated; exponential, doubling (schedule undocumented)
    notify_backoff_max_s: float = 1_800.0  # emulated cap of one backoff step (undocumented)
    notify_batch_window_ms: int = 200  # real: notifications for one URL collected into one POST
    notify_batch_max: int = 50  # items per POST (undocumented)
    notify_slow_window_s: int = 600  # emulated: the 10-minute window of the slow/drop rules
    notify_slow_share: float = 0.10  # > this share over the answer timeout → delayed
    notify_drop_share: float = 0.15  # > this share over the retry timeout → dropped
    notify_slow_min_samples: int = 100  # responses in the window before the rules apply (2022 docs: 100)
    notify_slow_delay_s: int = 600  # emulated: delay of new notifications while "delayed" [NEWEST: 10 min]
    notify_drop_period_s: int = 600  # emulated: how long new notifications are dropped [NEWEST: 10 min]
    notify_min_lifetime_s: int = 2_700  # expirationDateTime raised to at least now + 45 min
    notify_max_lifetime_min: int = 10_080  # events [NEWEST]; older docs: 4,230
    notify_max_per_mailbox: int = 1_000  # all apps together; 403 beyond
    notify_client_state_max: int = 128
    notify_reauth_window_s: int = 900  # reauthorizationRequired once the subscription or its token is this near expiry
    notify_reauth_interval_s: int = 900  # ... and again every 15 min until renewed/reauthorized
    notify_token_grace_s: int = 600  # delivery pauses this long after the subscription's token expired
    notify_workers: int = 4  # concurrent POSTs
    notify_log_capacity: int = 10_000  # delivery-log ring buffer
    notify_sweep_ms: int = 250  # real: lifecycle/expiry sweep period
    notify_verify_tls: bool = True  # verify https endpoints against the system CAs
