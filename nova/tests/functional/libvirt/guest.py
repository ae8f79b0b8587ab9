"""The real hypervisor for functional tests and benchmarks: libvirtd with
QEMU (qemu:///system, TCG) and the tiny guest of
tools/build-tiny-guest.py.

``require_libvirtd(test)`` skips a test when the binding or the daemon is
missing (fails it under NOVA_TEST_REQUIRE_SERVICES=1);
``tiny_guest(test)`` builds the guest once (Debian packages through
apt-get; about 10 s the first time) and returns its files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from nova.tests.fixtures import services
from nova.virt.libvirt import host

URI = 'qemu:///system'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))))
BUILDER = os.path.join(ROOT, 'tools', 'build-tiny-guest.py')
INIT_LINE = 'nova-tiny-guest init ran'

_built: dict[str, str] | None = None


def _unavailable(test: Any, message: str) -> None:
    if services.services_required():
        test.fail(f'{message}, and {services.REQUIRE_ENV}=1 requires it: '
                  f'run tools/install-libvirt.sh')
    test.skipTest(f'{message} (tools/install-libvirt.sh; set '
                  f'{services.REQUIRE_ENV}=1 to fail instead)')


def require_libvirtd(test: Any) -> None:
    if host.libvirt is None:
        _unavailable(test, 'the libvirt Python binding is not installed')
    host.libvirt.registerErrorHandler(lambda *args: None, None)
    try:
        conn = host.libvirt.open(URI)
    except host.libvirt.libvirtError as error:
        _unavailable(test, f'libvirtd does not answer at {URI}: {error}')
    conn.close()


def tiny_guest(test: Any) -> dict[str, str]:
    """Paths of the tiny guest's ``kernel``, ``ramdisk`` and ``disk``
    (and its ``os_command_line``), built on first use.
    """
    global _built
    if _built is None:
        result = subprocess.run([sys.executable, BUILDER],
                                capture_output=True, text=True)
        if result.returncode:
            _unavailable(test, f'building the tiny guest failed: '
                               f'{result.stderr.strip()}')
        paths = json.loads(result.stdout.strip().splitlines()[-1])
        with open(os.path.join(os.path.dirname(paths['kernel']),
                               'manifest.json')) as f:
            paths['os_command_line'] = json.load(f)['os_command_line']
        _built = paths
    return dict(_built)


def wait_for(predicate: Callable[[], Any], timeout: float,
             what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout}s waiting for '
                                 f'{what}')
        time.sleep(0.05)


class Console:
    """Reads a guest's console, each wait starting where the last ended."""

    def __init__(self, read: Callable[[], str]) -> None:
        self.read = read
        self.position = 0

    def wait(self, text: str, timeout: float = 90) -> float:
        """Seconds until ``text`` appears after the last match."""
        started = time.monotonic()

        def seen() -> bool:
            output = self.read()
            at = output.find(text, self.position)
            if at < 0:
                return False
            self.position = at + len(text)
            return True
        wait_for(seen, timeout, f'{text!r} on the console')
        return time.monotonic() - started

    def skip_to_end(self) -> None:
        self.position = len(self.read())
