"""Host-wide operations for operators, as an openstackclient plugin.

``openstack compute host evacuate|drain|servers`` act on every server of
one compute host through the public Compute API only (openstacksdk), so
they work against any nova that has the move operations.
"""
