"""Boot time of a real guest: LibvirtDriver.spawn next to raw libvirt.

Boots the tiny guest (tools/build-tiny-guest.py) under libvirtd + QEMU
(qemu:///system; TCG unless --virt-type kvm) in two ways, interleaved round
by round so any drift of the machine hits both alike:

* driver  LibvirtDriver.spawn(): image cache, qcow2 overlay, kernel and
          ramdisk links, domain XML, defineXML + create;
* raw     libvirt's createXML() of the same domain XML, its disk files
          made beforehand (untimed): the floor.

For each it measures boot -> running (the call returned and the domain
runs) and boot -> init (the guest's init printed its line on the serial
console, polled every 10 ms), then destroys the guest (untimed). A first
round of each warms caches and is not counted.

Prints the medians, the driver's overhead over raw and PASS/FAIL against
the target: boot -> init within 1 s of raw.

Usage: python bench/libvirt_boot.py [--rounds N] [--virt-type qemu|kvm]
(default 5 rounds, about 1 minute). Needs tools/install-libvirt.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuid_lib
from typing import Any

TARGET_SECONDS = 1.0
URI = 'qemu:///system'
INIT_LINE = b'nova-tiny-guest init ran'
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLL = 0.01
TIMEOUT = 120


class LocalImages:
    """The tiny guest's files as an image service."""

    def __init__(self, files: dict[str, str]) -> None:
        self.images = {
            'kernel': {'id': 'kernel', 'disk_format': 'aki',
                       'path': files['kernel'], 'properties': {}},
            'ramdisk': {'id': 'ramdisk', 'disk_format': 'ari',
                        'path': files['ramdisk'], 'properties': {}},
            'tiny': {'id': 'tiny', 'disk_format': 'ami',
                     'path': files['disk'], 'properties': {
                         'kernel_id': 'kernel', 'ramdisk_id': 'ramdisk',
                         'os_command_line': files['os_command_line']}},
        }

    def get(self, context: Any, image_id: str) -> dict[str, Any]:
        return dict(self.images[image_id])

    def get_path(self, context: Any, image_id: str) -> str:
        return self.images[image_id]['path']


def build_guest() -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'build-tiny-guest.py')],
        check=True, capture_output=True, text=True).stdout
    files = json.loads(out.strip().splitlines()[-1])
    with open(os.path.join(os.path.dirname(files['kernel']),
                           'manifest.json')) as f:
        files['os_command_line'] = json.load(f)['os_command_line']
    return files


def wait_for_init(console: str, started: float) -> float:
    deadline = started + TIMEOUT
    while True:
        try:
            with open(console, 'rb') as f:
                if INIT_LINE in f.read():
                    return time.perf_counter() - started
        except FileNotFoundError:
            pass
        if time.perf_counter() > deadline:
            raise SystemExit(f'the guest did not print its init line within '
                             f'{TIMEOUT}s; see {console}')
        time.sleep(POLL)


def instance(uuid: str) -> dict[str, Any]:
    return {'uuid': uuid, 'memory_mb': 256, 'vcpus': 1, 'root_gb': 1,
            'ephemeral_gb': 0, 'swap': 0, 'image_ref': 'tiny',
            'kernel_id': 'kernel', 'ramdisk_id': 'ramdisk',
            'display_name': 'bench', 'flavor': {'name': 'bench'}}


def boot_driver(drv: Any, images: LocalImages) -> tuple[float, float]:
    inst = instance(str(uuid_lib.uuid4()))
    console = os.path.join(drv.instance_dir(inst), 'console.log')
    started = time.perf_counter()
    drv.spawn(None, inst, images.get(None, 'tiny'), [], None, None)
    running = time.perf_counter() - started
    init = wait_for_init(console, started)
    drv.destroy(None, inst, None)
    return running, init


def boot_raw(drv: Any, images: LocalImages, conn: Any) -> tuple[float, float]:
    inst = instance(str(uuid_lib.uuid4()))
    directory = drv.instance_dir(inst)
    os.makedirs(directory)
    try:
        # The same XML and files the driver would make, made untimed.
        from nova.virt.libvirt import config
        guest = drv._guest_config(None, inst, images.get(None, 'tiny'),
                                  None, None, directory)
        xml = config.domain_xml(guest)
        started = time.perf_counter()
        dom = conn.createXML(xml, 0)
        running = time.perf_counter() - started
        init = wait_for_init(guest.console_log, started)
        dom.destroy()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return running, init


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--virt-type', default='qemu',
                        choices=('qemu', 'kvm'))
    args = parser.parse_args(argv)

    import nova.conf
    from nova.virt.libvirt import driver, host
    conf = nova.conf.CONF
    conf([], project='nova')
    state = tempfile.mkdtemp(prefix='nova-bench-libvirt-')
    conf.set_override('state_path', state)
    conf.set_override('virt_type', args.virt_type, group='libvirt')
    conf.set_override('connection_uri', URI, group='libvirt')
    files = build_guest()
    images = LocalImages(files)
    drv = driver.LibvirtDriver(conf=conf)
    drv.image_api = images
    drv.init_host('bench')
    conn = host.libvirt.open(URI)
    results: dict[str, list[tuple[float, float]]] = {'driver': [],
                                                     'raw': []}
    try:
        print(f'tiny guest ({files["kernel"]}) under {URI}, domain type '
              f'{args.virt_type}; {args.rounds} rounds after a warm-up')
        for round_ in range(args.rounds + 1):
            for way in ('raw', 'driver') if round_ % 2 else ('driver',
                                                              'raw'):
                figures = (boot_driver(drv, images) if way == 'driver'
                           else boot_raw(drv, images, conn))
                if round_:
                    results[way].append(figures)
                print(f'  round {round_}{" (warm-up)" if not round_ else ""}'
                      f' {way:6s} running {figures[0]:6.3f} s   init '
                      f'{figures[1]:6.3f} s', flush=True)
    finally:
        conn.close()
        drv.cleanup_host('bench')
        shutil.rmtree(state, ignore_errors=True)

    medians = {way: (statistics.median(r for r, _ in rows),
                     statistics.median(i for _, i in rows))
               for way, rows in results.items()}
    print()
    print(f'{"median":8s} {"boot->running":>14s} {"boot->init":>11s}')
    for way in ('raw', 'driver'):
        running, init = medians[way]
        print(f'{way:8s} {running:12.3f} s {init:9.3f} s')
    running = medians['driver'][0] - medians['raw'][0]
    init = medians['driver'][1] - medians['raw'][1]
    print(f'{"driver-raw":8s} {running:+12.3f} s {init:+9.3f} s')
    ok = init <= TARGET_SECONDS and running <= TARGET_SECONDS
    print(f'{"PASS" if ok else "FAIL"}: the driver boots within '
          f'{TARGET_SECONDS:.0f} s of raw libvirt (boot->running '
          f'{running:+.3f} s, boot->init {init:+.3f} s)')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
