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

It also counts the requests each RPC listener has handed to its server
and that have not been answered yet (oslo.messaging's RPC server answers
every request it takes, a cast too, once its endpoint method returned or
failed), so that a stopping service can tell when its last request has
ended without waiting for its server's executor threads to wind down:
:func:`wait_answered`.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
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


class _Unanswered:
    """How many requests a listener handed out are not answered yet."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._count = 0

    def took(self) -> None:
        with self._changed:
            self._count += 1

    def answered(self) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def wait(self, timeout: float) -> bool:
        """True once none is left; False if some still are after
        ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count <= 0,
                                          timeout)


class _IncomingMessage(impl_fake.FakeIncomingMessage):
    """A request, counted as unanswered until its server replies."""

    def __init__(self, ctxt: Any, message: Any, reply_q: Any,
                 requeue: Any, unanswered: _Unanswered) -> None:
        super().__init__(ctxt, message, reply_q, requeue)
        self.unanswered = unanswered
        unanswered.took()

    def reply(self, reply: Any = None, failure: Any = None) -> None:
        try:
            super().reply(reply, failure)
        finally:
            self.unanswered.answered()


#: The RPC listeners this driver made, by the listener object their
#: server holds (its ``listener``), for wait_answered.
_rpc_listeners: weakref.WeakKeyDictionary[Any, _Listener] = (
    weakref.WeakKeyDictionary())


def wait_answered(server_listener: Any, give_up: Callable[[], bool]) -> bool:
    """Wait until the RPC server whose listener is ``server_listener``
    (its ``listener`` attribute) has answered every request it took; call
    it after the server was stopped (it takes no more).

    True when it has; False when the listener is not this driver's (the
    server is on another transport), or as soon as ``give_up()`` (asked
    every tenth of a second) is true first - say, because the server's
    own ``wait()`` ended, which also means every request ended.
    """
    listener = _rpc_listeners.get(server_listener)
    if listener is None or listener.unanswered is None:
        return False
    while not listener.unanswered.wait(0.1):
        if give_up():
            return False
    return True


class _Listener(impl_fake.FakeListener):

    def __init__(self, exchange_manager: Any, targets: list[Any],
                 pool: Any = None, rpc: bool = False) -> None:
        super().__init__(exchange_manager, targets, pool)
        #: RPC listeners only: a notification listener's messages are
        #: acknowledged, never answered.
        self.unanswered = _Unanswered() if rpc else None

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
                    if message is None:
                        continue
                    if self.unanswered is not None:
                        return _IncomingMessage(ctxt, message, reply_q,
                                                requeue, self.unanswered)
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
            messaging.Target(topic=target.topic, exchange=exchange)],
            rpc=True)
        adapter = base.PollStyleListenerAdapter(listener, batch_size,
                                                batch_timeout)
        _rpc_listeners[adapter] = listener
        return adapter

    def listen_for_notifications(self, targets_and_priorities: Any,
                                 pool: Any, batch_size: int,
                                 batch_timeout: float) -> Any:
        targets = [messaging.Target(topic=f'{target.topic}.{priority}',
                                    exchange=target.exchange)
                   for target, priority in targets_and_priorities]
        listener = _Listener(self._exchange_manager, targets, pool)
        return base.PollStyleListenerAdapter(listener, batch_size,
                                             batch_timeout)
