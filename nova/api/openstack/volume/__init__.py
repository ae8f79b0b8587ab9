"""The in-tree Block Storage API v3 (a subset of Cinder's), served by
nova-volume at ``/v3`` and by nova-api / nova-all at ``/volume/v3``."""
