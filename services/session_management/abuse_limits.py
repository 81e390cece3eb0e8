"""Abuse limits: what an address or a user may do before it is refused with RATE_LIMITED.

A lecture hall of 500 listeners behind one NAT address must get in, so successful joins are
never limited per address. What is limited is failure: handshakes refused for bad input, and
existence answers, the refusals that tell whether a session id is in use ("no such session",
"someone else's session"). Every path that gives one (join by handshake or message, speaker and
listener refresh) counts it against one bound per address:
`rateLimitListenerJoinsPerMin` a minute (30: a hall in which 25 mistype the id once still gets
in) and `rateLimitSessionLookupsPerDay` a UTC day (300). Past either, every such path answers
RATE_LIMITED for the rest of the window, whatever the id, so the refusal itself reveals nothing.
With 9 million ids and 100 live sessions, 300 guesses a day find one with a chance of about 0.3 %.
A speaker may create `rateLimitSessionsPerHour` sessions an hour.
"""

from __future__ import annotations

from typing import Any

from session_management.caller import Caller
from session_management.config import Settings
from session_management.errors import ErrorCode, ServiceError
from session_management.repositories.rate_limits import RateLimitRepository

HOUR_SECONDS = 3600
MINUTE_SECONDS = 60
DAY_SECONDS = 86_400

# Refusals that point at a bad or probing client; a full session or an outage is nobody's fault.
COUNTED_FAILURES = frozenset(
    {
        ErrorCode.INVALID_PARAMETER,
        ErrorCode.INVALID_SESSION_ID,
        ErrorCode.INVALID_LANGUAGE,
        ErrorCode.UNSUPPORTED_LANGUAGE,
        ErrorCode.SESSION_NOT_FOUND,
        ErrorCode.UNAUTHORIZED,
        ErrorCode.FORBIDDEN,
    }
)
# Looking for sessions that do not exist: what the existence bound counts when any route refuses.
ENUMERATION_FAILURES = frozenset({ErrorCode.SESSION_NOT_FOUND, ErrorCode.INVALID_SESSION_ID})


def record_refusal(rate_limits: RateLimitRepository, caller: Caller, error: ServiceError, *, handshake: bool) -> None:
    """Count a refusal against the caller's address: any counted failure of a handshake, and the
    enumeration failures of the message forms."""
    if handshake or error.code in ENUMERATION_FAILURES:
        record_failure(rate_limits, caller, error)


def record_failure(rate_limits: RateLimitRepository, caller: Caller, error: ServiceError) -> None:
    if not caller.source_ip or error.code not in COUNTED_FAILURES:
        return
    rate_limits.record(f"connectFailures#{caller.address_key}", MINUTE_SECONDS)
    if error.code in ENUMERATION_FAILURES:
        record_existence_answer(rate_limits, caller)


def record_existence_answer(rate_limits: RateLimitRepository, caller: Caller) -> None:
    """Count one answer that told the caller whether a session id is in use, in both windows."""
    if not caller.source_ip:
        return
    for identifier, window in _lookup_windows(caller):
        rate_limits.record(identifier, window)


def _lookup_windows(caller: Caller) -> tuple[tuple[str, int], tuple[str, int]]:
    return ((f"joinFailures#{caller.address_key}", MINUTE_SECONDS), (f"lookups#{caller.address_key}", DAY_SECONDS))


def _lookup_limits(settings: Settings) -> tuple[int, int]:
    return settings.rate_limit_listener_joins_per_min, settings.rate_limit_session_lookups_per_day


def _rate_limited(retry_after: int, what: str) -> ServiceError:
    return ServiceError(
        ErrorCode.RATE_LIMITED, f"Too many {what} from this address; retry later", retry_after=retry_after
    )


def check_address(rate_limits: RateLimitRepository, caller: Caller, settings: Settings) -> None:
    """Refuse an address whose handshakes keep failing."""
    if not caller.source_ip:
        return
    decision = rate_limits.is_blocked(
        f"connectFailures#{caller.address_key}", settings.rate_limit_connection_attempts_per_min, MINUTE_SECONDS
    )
    if not decision.allowed:
        raise _rate_limited(decision.retry_after, "failed connection attempts")


def existence_guards(rate_limits: RateLimitRepository, caller: Caller, settings: Settings) -> dict[str, Any]:
    """The conditions a join's transaction checks: the caller's address is within the existence
    bound, per minute and per day (checked in the join's own transaction, at no extra round trip)."""
    if not caller.source_ip:
        return {}
    (minute_key, minute), (day_key, day) = _lookup_windows(caller)
    per_minute, per_day = _lookup_limits(settings)
    return {
        "lookupsThisMinute": rate_limits.guard(minute_key, per_minute, minute),
        "lookupsToday": rate_limits.guard(day_key, per_day, day),
    }


def check_existence_bound(rate_limits: RateLimitRepository, caller: Caller, settings: Settings) -> None:
    """Refuse, before looking the session up, an address past its existence bound (the refresh
    paths; joins check the same counters inside their transaction). The HTTP API gives no existence
    answers: its 404 is the same for unknown and foreign sessions."""
    if not caller.source_ip:
        return
    for (identifier, window), limit in zip(_lookup_windows(caller), _lookup_limits(settings), strict=True):
        decision = rate_limits.is_blocked(identifier, limit, window)
        if not decision.allowed:
            raise _rate_limited(decision.retry_after, "lookups of unknown sessions")


def joins_refused(now: float) -> ServiceError:
    """The refusal when an existence guard did not hold: retry when the minute's window ends (a
    day's bound keeps refusing after it; each refusal says when to come back)."""
    return _rate_limited(MINUTE_SECONDS - int(now) % MINUTE_SECONDS, "lookups of unknown sessions")


def check_sessions_per_hour(rate_limits: RateLimitRepository, user_id: str, settings: Settings) -> None:
    """Count a session creation against its speaker; refuse past the hourly limit."""
    decision = rate_limits.hit(f"createSession#user:{user_id}", settings.rate_limit_sessions_per_hour, HOUR_SECONDS)
    if not decision.allowed:
        raise ServiceError(
            ErrorCode.RATE_LIMITED,
            f"At most {settings.rate_limit_sessions_per_hour} sessions per hour",
            retry_after=decision.retry_after,
        )
