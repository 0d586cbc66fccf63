"""gamemetrics/retry.py: how long a failing attempt waits before the next (deliveries, Kafka, PostgreSQL)."""

from gamemetrics.retry import RetryPolicy


def test_delays_double_from_the_first_and_stop_at_the_cap():
    policy = RetryPolicy(max_attempts=6, first_delay_s=0.5, max_delay_s=3.0)
    assert [policy.delay_after(a) for a in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.longest_wait_s == 9.5


def test_a_retry_after_from_the_server_lengthens_the_wait_up_to_the_cap():
    policy = RetryPolicy(max_attempts=3, first_delay_s=1.0, max_delay_s=30.0)
    assert policy.delay_after(1, retry_after_s=10) == 10
    assert policy.delay_after(1, retry_after_s=120) == 30
    assert policy.delay_after(3, retry_after_s=0) == 4.0


def test_one_attempt_never_waits():
    assert RetryPolicy(max_attempts=1).longest_wait_s == 0
