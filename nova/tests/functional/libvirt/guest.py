"""The real hypervisor for functional tests and benchmarks: libvirtd with
QEMU (qemu:///system, TCG) and the tiny guest of
tools/build-tiny-guest.py.

``require_libvirtd(test)`` skips a test when the binding or the daemon is
missing (fails it under NOVA_TEST_REQUIRE_SERVICES=1);
``tiny_guest(test)`` builds the guest once (Debian packages through
apt-get; about 10 s the first time) and returns its files;
``SecondLibvirtd`` runs another libvirtd, a second "host" on this machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid as uuid_lib
from collections.abc import Callable
from typing import Any

import fixtures

from nova.flow.testing import wait_for
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


#: libvirtd's own directories, which a second daemon must not share: its
#: configuration (persistent domain definitions), run state (sockets,
#: PID files, running domains) and QEMU's per-domain files and logs. The
#: capabilities cache (/var/cache/libvirt) is shared: libvirt replaces its
#: files whole.
PRIVATE_DIRS = {'etc': '/etc/libvirt', 'run': '/run/libvirt',
                'lib': '/var/lib/libvirt', 'log': '/var/log/libvirt'}


class SecondLibvirtd(fixtures.Fixture):
    """Another libvirtd on this machine: a second "host".

    It runs as root in a mount namespace of its own (``unshare``), where
    fresh directories are mounted over libvirtd's (``PRIVATE_DIRS``), so it
    shares no domain, socket or state with the system libvirtd; it has its
    own host UUID, so that libvirt takes it for another host. The rest of
    the filesystem (instance directories) is the same for both. Its socket
    is ``<dir>/run/libvirt-sock``: ``uri`` is
    ``qemu+unix:///system?socket=<that>``. On clean-up it destroys and
    undefines any domain it still has, stops, and its directory is
    removed; the mounts go with its namespace.
    """

    def __init__(self, test: Any, qemu_conf: str = '',
                 timeout: float = 60) -> None:
        super().__init__()
        self.test = test
        self.qemu_conf = qemu_conf
        self.timeout = timeout
        self.process: subprocess.Popen | None = None

    def _setUp(self) -> None:
        require_libvirtd(self.test)
        if os.geteuid() != 0:
            _unavailable(self.test, 'a second libvirtd must run as root')
        for tool in ('unshare', 'mount', 'libvirtd'):
            if shutil.which(tool) is None:
                _unavailable(self.test, f'{tool} is not installed')
        self.path = tempfile.mkdtemp(prefix='nova-test-libvirtd-')
        self.addCleanup(shutil.rmtree, self.path, ignore_errors=True)
        for name in PRIVATE_DIRS:
            os.makedirs(os.path.join(self.path, name))
        os.makedirs(os.path.join(self.path, 'lib', 'qemu'))
        os.makedirs(os.path.join(self.path, 'log', 'qemu'))
        os.makedirs(os.path.join(self.path, 'etc', 'qemu'))
        with open('/etc/libvirt/qemu.conf') as f:
            qemu_conf = f.read()
        with open(os.path.join(self.path, 'etc', 'qemu.conf'), 'w') as f:
            f.write(qemu_conf + '\n' + self.qemu_conf)
        self.host_uuid = str(uuid_lib.uuid4())
        config = os.path.join(self.path, 'libvirtd.conf')
        with open(config, 'w') as f:
            f.write(f'host_uuid = "{self.host_uuid}"\n')
        self.socket = os.path.join(self.path, 'run', 'libvirt-sock')
        self.uri = f'qemu+unix:///system?socket={self.socket}'
        mounts = ' && '.join(
            f'mount --bind {os.path.join(self.path, name)} {target}'
            for name, target in PRIVATE_DIRS.items())
        self.log = os.path.join(self.path, 'libvirtd.log')
        with open(self.log, 'wb') as log:
            # unshare and sh exec: the process is libvirtd itself.
            self.process = subprocess.Popen(
                ['unshare', '--mount', '--propagation', 'private', 'sh',
                 '-c', f'{mounts} && exec libvirtd --config {config} '
                       f'--pid-file {self.path}/libvirtd.pid'],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.addCleanup(self._stop)
        self.addCleanup(self._remove_domains)
        self._wait_until_answering()

    def _wait_until_answering(self) -> None:
        libvirt = host.libvirt
        deadline = time.monotonic() + self.timeout
        while True:
            if self.process is not None and \
                    self.process.poll() is not None:
                self.test.fail(f'the second libvirtd exited with '
                               f'{self.process.returncode}: '
                               f'{self.read_log()}')
            try:
                libvirt.open(self.uri).close()
                return
            except libvirt.libvirtError as error:
                if time.monotonic() > deadline:
                    self.test.fail(f'the second libvirtd does not answer '
                                   f'at {self.uri} after {self.timeout}s: '
                                   f'{error}; {self.read_log()}')
            time.sleep(0.05)

    def read_log(self) -> str:
        with open(self.log, errors='replace') as f:
            return f.read()[-4000:]

    def _remove_domains(self) -> None:
        libvirt = host.libvirt
        conn = libvirt.open(self.uri)
        try:
            for dom in conn.listAllDomains(0):
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(
                    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                    libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        finally:
            conn.close()

    def _stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
