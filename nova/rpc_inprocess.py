"""``nova-inprocess://``: oslo.messaging's in-memory transport, woken by
messages instead of polling.

nova-all runs api, conductor and compute in one process. oslo.messaging's
own ``fake`` driver would carry their messages, but its listeners look at
their queues every 50 ms, which puts up to 50 ms of idle wait on every hop
of a boot (API -> conductor -> compute) - more than the whole boot costs.
This driver keeps the fake driver's exchanges and message semantics
(call, cast, fanout, JSON-serialisability checks) and only changes how a
listener waits: on a condition variable notified when a message is
delivered.  It is registered as the ``nova-inprocess`` scheme in the
``oslo.messaging.drivers`` entry point namespace (setup.cfg).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import oslo_messaging as messaging
from oslo_messaging._drivers import base, impl_fake

# An idle listener re-checks its stop flag this often; a delivered message
# wakes it at once, so this bounds only how long stop() may take.
_IDLE_WAKE_SECONDS = 1.0


class _Exchange(impl_fake.FakeExchange):

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.arrived = threading.Condition(self._queues_lock)

    def deliver_message(self, *args: Any, **kwargs: Any) -> None:
        with self._queues_lock:
            super().deliver_message(*args, **kwargs)
            self.arrived.notify_all()

    def wake(self) -> None:
        with self._queues_lock:
            self.arrived.notify_all()


class _ExchangeManager(impl_fake.FakeExchangeManager):
    # Separate from the fake driver's class-level registry, so that the two
    # drivers never share queues in one process.
    _exchanges_lock = threading.Lock()
    _exchanges: dict[str, _Exchange] = {}

    def get_exchange(self, name: str | None) -> _Exchange:
        if name is None:
            name = self._default_exchange
        with self._exchanges_lock:
            exchange = self._exchanges.get(name)
            if exchange is None:
                exchange = self._exchanges[name] = _Exchange(name)
            return exchange


class _Listener(impl_fake.FakeListener):

    @base.batch_poll_helper
    def poll(self, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        exchanges = [self._exchange_manager.get_exchange(t.exchange)
                     for t in self._targets]
        # Every target of one listener is in one exchange (the driver
        # builds them from one target), so one condition covers them all.
        exchange = exchanges[0]
        while not self._stopped.is_set():
            with exchange.arrived:
                for target, target_exchange in zip(self._targets, exchanges,
                                                   strict=True):
                    ctxt, message, reply_q, requeue = target_exchange.poll(
                        target, self._pool)
                    if message is not None:
                        return impl_fake.FakeIncomingMessage(
                            ctxt, message, reply_q, requeue)
                wait = _IDLE_WAKE_SECONDS
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                    if wait <= 0:
                        return None
                exchange.arrived.wait(wait)
        return None

    def stop(self) -> None:
        super().stop()
        for target in self._targets:
            self._exchange_manager.get_exchange(target.exchange).wake()


class InProcessDriver(impl_fake.FakeDriver):

    def __init__(self, conf: Any, url: Any,
                 default_exchange: str | None = None,
                 allowed_remote_exmods: Any = None) -> None:
        super().__init__(conf, url, default_exchange, allowed_remote_exmods)
        self._exchange_manager = _ExchangeManager(default_exchange)

    def listen(self, target: messaging.Target, batch_size: int,
               batch_timeout: float) -> Any:
        exchange = target.exchange or self._default_exchange
        listener = _Listener(self._exchange_manager, [
            messaging.Target(topic=target.topic, server=target.server,
                             exchange=exchange),
            messaging.Target(topic=target.topic, exchange=exchange)])
        return base.PollStyleListenerAdapter(listener, batch_size,
                                             batch_timeout)

    def listen_for_notifications(self, targets_and_priorities: Any,
                                 pool: Any, batch_size: int,
                                 batch_timeout: float) -> Any:
        targets = [messaging.Target(topic=f'{target.topic}.{priority}',
                                    exchange=target.exchange)
                   for target, priority in targets_and_priorities]
        listener = _Listener(self._exchange_manager, targets, pool)
        return base.PollStyleListenerAdapter(listener, batch_size,
                                             batch_timeout)
