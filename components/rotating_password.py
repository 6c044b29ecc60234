"""Passwords the program hands out that change on a schedule: pulumiverse-time's ``Rotating`` as the keeper.

A ``Rotating`` expires ``period`` days after its base time; the next ``pulumi up --refresh`` (the deploy
workflow refreshes) finds it expired and recreates it, its id changes, and the ``RandomPassword`` it keeps is
generated anew. Every consumer in the same stack gets the new value in that update.

``DualPassword`` is for services that accept two passwords at once (an ElastiCache user takes up to two):
two slots, each living ``period`` days, the second's base half a period after the first's, so the slots
alternate and the one handed out (the newer) is always half a period old when the older one is replaced.
Clients that re-read the secret within half a period never see a gap. The second slot's base ignores later
changes of the first's (``ignore_changes``), or a rotation of one would replace both. The deploy must run at
least every half period for the alternation to hold; a longer pause rotates both slots in one update.
"""

from __future__ import annotations

import datetime

import pulumi
import pulumi_random as random
import pulumiverse_time as time


def _rotating(name: str, days: int, opts: pulumi.ResourceOptions,
              base: pulumi.Input[str] | None = None) -> time.Rotating:
    return time.Rotating(name, rotation_days=days, rfc3339=base, opts=opts)


def rotating_password(name: str, days: int, *, special: bool, opts: pulumi.ResourceOptions,
                      length: int = 40) -> random.RandomPassword:
    """One password, regenerated every ``days`` days. Not protected: its replacement is the rotation."""
    keeper = _rotating(f"{name}-rotation", days, opts)
    return random.RandomPassword(name, length=length, special=special, keepers={"rotation": keeper.id},
                                 opts=opts)


def _half_later(rfc3339: str, days: int) -> str:
    base = datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    return (base + datetime.timedelta(days=days / 2)).strftime("%Y-%m-%dT%H:%M:%SZ")


class DualPassword:
    """Two staggered passwords: ``both`` for the service, ``current`` (the newer) for the clients."""

    def __init__(self, name: str, days: int, *, opts: pulumi.ResourceOptions, length: int = 64) -> None:
        first = _rotating(f"{name}-a-rotation", days, opts)
        second = _rotating(f"{name}-b-rotation", days, pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(ignore_changes=["rfc3339"])),
            base=first.rfc3339.apply(lambda stamp: _half_later(stamp, days)))
        # The first slot keeps the name a single password had before (its URN stays).
        self.slots = [random.RandomPassword(label, length=length, special=False, keepers={"rotation": keeper.id},
                                            opts=opts)
                      for label, keeper in ((name, first), (f"{name}-b", second))]
        self.both: list[pulumi.Output[str]] = [p.result for p in self.slots]
        # RFC 3339 timestamps in UTC compare as strings.
        self.current: pulumi.Output[str] = pulumi.Output.all(
            first.rfc3339, second.rfc3339, *self.both).apply(lambda v: v[2] if v[0] > v[1] else v[3])
