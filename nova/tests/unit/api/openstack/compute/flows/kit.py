"""What the API flows' per-flow test modules share: the vendor kit with
the REST API (``FlowTestCloud(with_api=True)``), a server to call on and
a hook that sees each stage of the flow under test finish.

The API flows run inside one request and are not recorded, so their
tests read the response, what the request stored, and what the watching
hook saw (``self.seen``: stage name -> ``read(state)`` right after it,
in the order the stages ran).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

ADMIN = 'admin:admin'


class ApiKitTestCase(kit.FlowKitTestCase):
    """``self.cloud``: the kit's cloud with its REST API."""

    #: ``(flow, contract version, stages, read)``: a kit.watch hook on
    #: the flow under test; what it saw is ``self.seen``.
    watching: tuple[str, str, Sequence[str],
                    Callable[[Any], Any]] | None = None
    #: More hook objects enabled after the watching one.
    hooks: Sequence[Any] = ()

    def setUp(self) -> None:
        objects = list(self.hooks)
        self.seen: dict[str, Any] = {}
        if self.watching is not None:
            watch, self.seen = kit.watch(*self.watching)
            flow = self.watching[0]
            if flow == 'api.server_view':
                # Every contribution to the view needs a microversion:
                # from the first one, to see every request.
                type(watch).microversions = {flow: '2.1'}
            objects.insert(0, watch)
        self.cloud_options = dict(self.cloud_options, with_api=True,
                                  hook_objects=objects)
        super().setUp()

    def added(self) -> dict[str, list[str]]:
        """What each stage of the watched flow added, by stage: the keys
        ``read(state)`` gave after it that it did not give before."""
        added: dict[str, list[str]] = {}
        before: list[str] = []
        for stage, keys in self.seen.items():
            added[stage] = [key for key in keys if key not in before]
            before = keys
        return added

    def server(self, token: str = 'demo:demo',
               networks: str = 'none') -> dict[str, Any]:
        """An ACTIVE server created through the API with ``token``
        (``networks='auto'``: with a port on the local network)."""
        code, body = self.cloud.api('POST', '/servers', {'server': {
            'name': 'api-kit', 'flavorRef': '1',
            'imageRef': self.cloud.image['id'], 'networks': networks}},
            token=token, version='2.37')
        self.assertEqual(202, code, body)
        return self.cloud.wait_for_state(body['server']['id'],
                                         vm_states.ACTIVE)


class SecurityGroupTestCase(ApiKitTestCase):
    """A server with a port, and a group ``web`` of its project."""

    def setUp(self) -> None:
        super().setUp()
        self.network = self.cloud.compute_api.network_api
        self.network.create_security_group(
            self.cloud.user_context(), 'demo', 'web', 'web servers')
        self.uuid = self.server(networks='auto')['uuid']

    def action(self, body: dict[str, Any]) -> tuple[int, Any]:
        return self.cloud.api('POST', f'/servers/{self.uuid}/action', body)

    def listed(self) -> list[str]:
        """The groups the server view lists."""
        code, body = self.cloud.api('GET', f'/servers/{self.uuid}')
        assert code == 200, body
        return sorted(group['name'] for group in
                      body['server'].get('security_groups', []))

    def port_groups(self) -> list[list[str]]:
        """The groups of each of the server's ports, by name."""
        ctx = self.cloud.user_context()
        ports = [vif['id'] for vif in
                 self.network.get_instance_nw_info(ctx, self.uuid)]
        ids = self.network.port_security_groups(ctx, ports)
        names = {group['id']: group['name'] for group in
                 self.network.list_security_groups(ctx)}
        return [sorted(names[i] for i in ids[port]) for port in ports]
