"""The network service interface compute flows call.

Network info is a list of VIF dicts, shaped like upstream nova's
``nova.network.model.VIF`` so virt drivers read it the same way::

    {'id': port_id, 'port_id': port_id, 'address': mac,
     'type': 'bridge', 'devname': 'tap...', 'active': True,
     'network': {'id': ..., 'label': ..., 'bridge': ...,
                 'subnets': [{'cidr': '10.0.0.0/24', 'version': 4,
                              'gateway': {'address': '10.0.0.1', ...},
                              'dns': [{'address': ...}],
                              'ips': [{'address': '10.0.0.2',
                                       'type': 'fixed', 'version': 4,
                                       'floating_ips': []}],
                              'routes': []}],
                 'meta': {...}},
     ...}

``requested_networks`` is None or ``'auto'`` (one port on the default
network), ``'none'`` (no port), or a list of dicts with any of
``network_id`` (or ``uuid``), ``fixed_ip`` (or ``address``) and
``port_id`` (or ``port``: a port the user created, which the instance
takes; deallocating the instance unbinds it instead of deleting it, as
nova does with Neutron).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from oslo_utils import importutils

import nova.conf

CONF = nova.conf.CONF

VIF = dict[str, Any]


class NetworkAPI(abc.ABC):
    """What nova needs from a network service."""

    @abc.abstractmethod
    def allocate_for_instance(self, context: Any, instance_uuid: str,
                              requested_networks: Any = None,
                              security_groups: Sequence[str] | None = None,
                              ) -> list[VIF]:
        """Create the instance's ports; all of them or none.

        The ports created get ``security_groups`` (names or IDs in the
        context's project; none: the project's ``default`` group); ports
        the user made keep their own, as with Neutron.

        Not idempotent: a second call adds ports.  Undo it with
        :meth:`deallocate_for_instance`.

        :raises SecurityGroupNotFound:
        """

    @abc.abstractmethod
    def deallocate_for_instance(self, context: Any,
                                instance_uuid: str) -> None:
        """Remove every port of the instance.  Idempotent."""

    @abc.abstractmethod
    def allocate_port_for_instance(self, context: Any, instance_uuid: str,
                                   network_id: str | None = None,
                                   requested_ip: str | None = None,
                                   port_id: str | None = None) -> VIF:
        """Add one port (interface attach): a new port on ``network_id``
        or, with ``port_id``, that existing port, which no instance may
        have yet.

        :raises PortNotFound: :raises PortInUse:
        """

    @abc.abstractmethod
    def deallocate_port_for_instance(self, context: Any, instance_uuid: str,
                                     port_id: str) -> bool:
        """Remove one port (interface detach).  Idempotent: False when
        the instance had no such port."""

    @abc.abstractmethod
    def get_instance_nw_info(self, context: Any,
                             instance_uuid: str) -> list[VIF]:
        """The instance's ports as network info, in allocation order."""

    def get_nw_info_for_instances(self, context: Any,
                                  instance_uuids: Sequence[str],
                                  ) -> dict[str, list[VIF]]:
        """Network info of many instances; backends may batch it."""
        return {uuid: self.get_instance_nw_info(context, uuid)
                for uuid in instance_uuids}

    @abc.abstractmethod
    def setup_networks_on_host(self, context: Any, instance_uuid: str,
                               host: str) -> None:
        """Bind every port of the instance to ``host`` (its
        ``binding:host_id``): where a move puts the instance, its ports
        follow (upstream's ``setup_networks_on_host`` and
        ``migrate_instance_finish``).  Idempotent; binding back to the
        old host undoes it."""

    @abc.abstractmethod
    def validate_networks(self, context: Any, requested_networks: Any,
                          num_instances: int) -> int:
        """Check a request before any instance exists; returns how many
        of ``num_instances`` can get their ports.  A requested port must
        be the caller's (or any, for an admin) and no instance's.

        :raises NetworkNotFound: :raises FixedIpInvalid:
        :raises NetworkRequiresSubnet: :raises PortNotFound:
        :raises PortInUse:
        """


    # -- security groups (upstream's nova.network.security_group_api) ------

    @abc.abstractmethod
    def validate_security_groups(self, context: Any, names: Sequence[str],
                                 ) -> list[dict[str, Any]]:
        """The groups ``names`` (names or IDs) stand for in the context's
        project, as the service shows them (``default`` is made on first
        use).

        :raises SecurityGroupNotFound: "Unable to find security_group
            with name or id 'X'".
        :raises NoUniqueMatch: a name several groups have.
        """

    @abc.abstractmethod
    def add_security_group_to_instance(self, context: Any,
                                       instance_uuid: str, project_id: str,
                                       name: str) -> dict[str, Any]:
        """Add group ``name`` (or ID; of ``project_id``, the instance's
        project) to every port of the instance; returns the group.

        :raises SecurityGroupNotFound: no such group, or the instance has
            no port.
        :raises SecurityGroupExistsForInstance: every port has it.
        :raises NoUniqueMatch:
        """

    @abc.abstractmethod
    def remove_security_group_from_instance(self, context: Any,
                                            instance_uuid: str,
                                            project_id: str,
                                            name: str) -> dict[str, Any]:
        """Take group ``name`` (or ID) from the instance's ports; returns
        the group.

        :raises SecurityGroupNotFound: no such group, no port, or no port
            has it.
        :raises NoUniqueMatch:
        """

    @abc.abstractmethod
    def get_instance_security_groups(self, context: Any,
                                     instance_uuid: str,
                                     ) -> list[dict[str, Any]]:
        """The groups of the instance's ports, each with its
        ``security_group_rules`` (Neutron's fields)."""


def API(conf: Any = CONF) -> NetworkAPI:  # noqa: N802 (a factory)
    """The configured network service (``[network] backend``)."""
    return importutils.import_object(conf.network.backend)
