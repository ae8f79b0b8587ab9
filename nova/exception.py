"""nova's exceptions, each carrying the HTTP code the API maps it to."""

from __future__ import annotations

from typing import Any


class NovaException(Exception):
    """Base class: ``msg_fmt`` is formatted with the keyword arguments."""

    msg_fmt = 'An unknown exception occurred.'
    code = 500

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                message = self.msg_fmt
        self.message = message
        super().__init__(message)

    def format_message(self) -> str:
        return self.message


class Invalid(NovaException):
    msg_fmt = 'Bad request: %(reason)s'
    code = 400


class NotFound(NovaException):
    msg_fmt = 'Resource could not be found.'
    code = 404


class Forbidden(NovaException):
    msg_fmt = 'Forbidden'
    code = 403


class Conflict(NovaException):
    msg_fmt = 'Conflict: %(reason)s'
    code = 409


class InstanceNotFound(NotFound):
    msg_fmt = 'Instance %(instance_id)s could not be found.'


class FlavorNotFound(NotFound):
    msg_fmt = 'Flavor %(flavor_id)s could not be found.'


class ImageNotFound(NotFound):
    msg_fmt = 'Image %(image_id)s could not be found.'


class InstanceInvalidState(Conflict):
    msg_fmt = ('Cannot \'%(method)s\' instance %(instance_uuid)s while it '
               'is in %(attr)s %(state)s')


class UnexpectedTaskStateError(Conflict):
    msg_fmt = ('Conflict updating instance %(instance_uuid)s. Expected: '
               '%(expected)s. Actual: %(actual)s')


class InstanceNotConfigured(UnexpectedTaskStateError):
    """A power-on or unconfigure of an instance that is not configured
    on the host (compute.configure_instance): it is not theirs."""

    msg_fmt = ('Instance %(instance_uuid)s is not configured on %(host)s '
               '(it is %(actual)s)')


class NoValidHost(NovaException):
    msg_fmt = 'No valid host was found. %(reason)s'


class InstanceBuildLost(NovaException):
    msg_fmt = ('The request to build instance %(instance_uuid)s was lost: '
               'no service took it within %(timeout)s seconds (nova-api '
               'or nova-conductor stopped, or its message was lost). '
               'Delete the server and create it again.')


class RescheduledException(NovaException):
    msg_fmt = ('Build of instance %(instance_uuid)s was re-scheduled: '
               '%(reason)s')


class ComputeResourcesUnavailable(NovaException):
    msg_fmt = 'Insufficient compute resources: %(reason)s'


class VirtDriverError(NovaException):
    msg_fmt = 'Virt driver error: %(reason)s'


class HypervisorUnavailable(NovaException):
    """The hypervisor of a host does not answer (upstream's: a driver
    whose connection is broken raises it)."""

    msg_fmt = 'Connection to the hypervisor is broken on host %(host)s'


class InstanceExists(Conflict):
    msg_fmt = 'Instance %(name)s already exists.'


class InvalidBDM(Invalid):
    msg_fmt = 'Block Device Mapping is Invalid.'


class InvalidBDMImage(InvalidBDM):
    msg_fmt = ('Block Device Mapping is Invalid: failed to get image '
               '%(id)s.')


class InvalidBDMVolume(InvalidBDM):
    msg_fmt = ('Block Device Mapping is Invalid: failed to get volume '
               '%(id)s.')


class InvalidRequest(Invalid):
    msg_fmt = 'The request is invalid.'


class VolumeSmallerThanMinDisk(Invalid):
    msg_fmt = ('Volume is smaller than the minimum size specified in image '
               'metadata. Volume size is %(volume_size)i bytes, minimum '
               'size is %(image_min_disk)i bytes.')


class FlavorDiskSmallerThanImage(Invalid):
    msg_fmt = ('Flavor\'s disk is too small for requested image. Flavor disk '
               'is %(flavor_size)i bytes, image is %(image_size)i bytes.')


class InstanceIsLocked(Conflict):
    msg_fmt = 'Instance %(instance_uuid)s is locked'


# -- API-facing exceptions (nova/api) ----------------------------------------

class ActionNotSupported(Conflict):
    """The compute API has no flow for this operation yet.

    409, not 501: the request is well formed and may succeed on a cloud (or
    a later release) that has the operation; clients show the message.
    """

    msg_fmt = 'Action %(action)s is not supported by this cloud yet.'


class InvalidAPIVersionString(Invalid):
    msg_fmt = ('API Version String %(version)s is of invalid format. Must '
               'be of format MajorNum.MinorNum.')


class InvalidGlobalAPIVersion(NovaException):
    msg_fmt = ('Version %(req_ver)s is not supported by the API. Minimum '
               'is %(min_ver)s and maximum is %(max_ver)s.')
    code = 406


class ValidationError(Invalid):
    msg_fmt = '%(detail)s'


class PolicyNotAuthorized(Forbidden):
    msg_fmt = "Policy doesn't allow %(action)s to be performed."


class NotAuthenticated(NovaException):
    msg_fmt = 'Authentication required.'
    code = 401


class InvalidInput(Invalid):
    msg_fmt = 'Invalid input received: %(reason)s'


class KeypairNotFound(NotFound):
    msg_fmt = 'Keypair %(name)s not found for user %(user_id)s'


class KeyPairExists(Conflict):
    msg_fmt = "Key pair '%(key_name)s' already exists."


class FlavorExists(Conflict):
    msg_fmt = 'Flavor with name %(name)s already exists.'


class FlavorIdExists(Conflict):
    msg_fmt = 'Flavor with ID %(flavor_id)s already exists.'


class FlavorExtraSpecsNotFound(NotFound):
    msg_fmt = ('Flavor %(flavor_id)s has no extra specs with key '
               '%(extra_specs_key)s.')


class InstanceActionNotFound(NotFound):
    msg_fmt = ('Action for request_id %(request_id)s on instance '
               '%(instance_uuid)s not found')


class ServiceNotFound(NotFound):
    msg_fmt = 'Service %(service_id)s could not be found.'


class ComputeHostNotFound(NotFound):
    msg_fmt = 'Compute host %(host)s could not be found.'


class ServiceUnavailable(Invalid):
    """The service an operation needs is down (upstream's; the API maps
    it to 409 where the operation can be retried later)."""

    msg_fmt = 'Service is unavailable at this time.'


class ComputeServiceUnavailable(ServiceUnavailable):
    """ServiceUnavailable naming the host: for admins only, as upstream
    does not show compute host names to users."""

    msg_fmt = 'Compute service of %(host)s is unavailable at this time.'


class HypervisorNotFound(NotFound):
    msg_fmt = "Hypervisor with ID '%(hypervisor_id)s' could not be found."


class MarkerNotFound(NotFound):
    msg_fmt = 'Marker %(marker)s could not be found.'


# -- single-host compute operations (pause ... attach/detach) ----------------
# The network and volume errors below are raised by the database layer
# and the local services; being nova.exception classes they cross RPC as
# themselves (nova.rpc.ALLOWED_EXMODS) when a compute call such as
# attach_interface fails on the host.

class NetworkNotFound(NotFound):
    msg_fmt = 'Network %(network_id)s could not be found.'


class PortNotFound(NotFound):
    msg_fmt = 'Port id %(port_id)s could not be found.'


class PortInUse(Conflict):
    msg_fmt = 'Port %(port_id)s is still in use.'


class NetworkInUse(Conflict):
    msg_fmt = ('Unable to complete operation on network %(net_id)s. There '
               'are one or more ports still in use on the network.')


class NetworkRequiresSubnet(Invalid):
    msg_fmt = ('Network %(network_uuid)s requires a subnet in order to boot '
               'instances on.')


class SubnetNotFound(NotFound):
    msg_fmt = 'Subnet %(subnet_id)s could not be found.'


class SubnetInUse(Conflict):
    msg_fmt = ('Unable to complete operation on subnet %(subnet_id)s: One '
               'or more ports have an IP allocation from this subnet.')


class SecurityGroupNotFound(NotFound):
    msg_fmt = 'Security group %(security_group_id)s not found.'


class SecurityGroupRuleNotFound(NotFound):
    msg_fmt = 'Security group rule %(rule_id)s not found.'


class SecurityGroupExists(Conflict):
    msg_fmt = ('Security group %(security_group_name)s already exists '
               'for project %(project_id)s.')


class SecurityGroupInUse(Conflict):
    msg_fmt = 'Security Group %(id)s in use.'


class SecurityGroupRuleExists(Conflict):
    msg_fmt = ('Security group rule already exists. Rule id is '
               '%(rule_id)s.')


class SecurityGroupExistsForInstance(Invalid):
    msg_fmt = ('Security group %(security_group_id)s is already associated'
               ' with the instance %(instance_id)s')


class NoUniqueMatch(Conflict):
    msg_fmt = 'No Unique Match Found.'


class FixedIpAlreadyInUse(Conflict):
    msg_fmt = ('Fixed IP address %(address)s is already in use on '
               'network %(network)s.')


class FixedIpInvalid(Invalid):
    msg_fmt = 'Fixed IP address %(address)s is invalid: %(reason)s'


class NoMoreFixedIps(NovaException):
    msg_fmt = 'No fixed IP addresses available for network: %(net)s'


class VolumeNotFound(NotFound):
    msg_fmt = 'Volume %(volume_id)s could not be found.'


class InvalidVolume(Invalid):
    msg_fmt = 'Invalid volume: %(reason)s'


class VolumeNotCreated(NovaException):
    msg_fmt = ('Volume %(volume_id)s did not finish being created even '
               'after we waited %(seconds)s seconds or %(attempts)s '
               'attempts. And its status is %(volume_status)s.')


class UnexpectedVolumeStateError(InvalidVolume):
    msg_fmt = ('Volume %(volume_id)s is %(actual)s; expected '
               '%(expected)s.')


class BDMNotFound(NotFound):
    msg_fmt = 'No Block Device Mapping with id %(id)s.'


class VolumeBDMNotFound(NotFound):
    msg_fmt = 'No volume Block Device Mapping with id %(volume_id)s.'


class InvalidDevicePath(Invalid):
    msg_fmt = 'The supplied device path (%(path)s) is invalid.'


class DevicePathInUse(Conflict):
    msg_fmt = 'The supplied device path (%(path)s) is in use.'


class InterfaceAttachFailed(NovaException):
    msg_fmt = 'Failed to attach network adapter device to %(instance_uuid)s'


class InstanceNotReady(Conflict):
    msg_fmt = 'Instance %(instance_id)s is not ready'


class InstanceNotRunning(Invalid):
    msg_fmt = 'Instance %(instance_id)s is not running.'


class FeatureNotSupported(NovaException):
    """The host's driver lacks an optional feature (upstream's API turns
    the driver's NotImplementedError into this 501)."""

    msg_fmt = 'The requested functionality is not supported.'
    code = 501


class TriggerCrashDumpNotSupported(Invalid):
    msg_fmt = 'Triggering crash dump is not supported'


class ConsoleNotAvailable(NotFound):
    msg_fmt = 'Guest does not have a console available.'


class ConsoleTypeInvalid(Invalid):
    msg_fmt = 'Invalid console type %(console_type)s'


class ConsoleTypeUnavailable(Invalid):
    msg_fmt = 'Unavailable console type %(console_type)s.'


class InvalidToken(Invalid):
    msg_fmt = "The token '%(token)s' is invalid or has expired"


class UnshelveException(NovaException):
    msg_fmt = 'Error during unshelve instance %(instance_id)s: %(reason)s'


# -- the database layer and the local network, volume and image services --

class InvalidSortKey(Invalid):
    msg_fmt = 'Sort key %(sort_key)s is not supported.'


class UnexpectedVMStateError(Conflict):
    msg_fmt = ('Conflict updating instance %(instance_uuid)s. Expected '
               'vm_state: %(expected)s. Actual: %(actual)s')


class InstanceActionEventNotFound(NotFound):
    msg_fmt = 'Event %(event)s not found for action id %(action_id)s'


class FlowRunNotFound(NotFound):
    msg_fmt = 'Flow run %(run_id)s could not be found.'


class HostBinaryNotFound(NotFound):
    msg_fmt = 'Could not find binary %(binary)s on host %(host)s.'


class ServiceExists(Conflict):
    msg_fmt = ('Service with host %(host)s binary %(binary)s topic '
               '%(topic)s exists.')


class FlavorAccessExists(Conflict):
    msg_fmt = ('Flavor access already exists for flavor %(flavor_id)s '
               'and project %(project_id)s combination.')


class FlavorAccessNotFound(NotFound):
    msg_fmt = ('Flavor access not found for %(flavor_id)s / '
               '%(project_id)s combination.')


class ImageNotAuthorized(Forbidden):
    msg_fmt = 'Not authorized for image %(image_id)s.'


class ImageProtected(Forbidden):
    msg_fmt = 'Image %(image_id)s is protected and cannot be deleted.'


class InvalidImageState(Conflict):
    msg_fmt = 'Image %(image_id)s is %(actual)s; expected %(expected)s.'


class ImageUnacceptable(Invalid):
    msg_fmt = 'Image %(image_id)s is unacceptable: %(reason)s'


class ComputeNodeNotFound(HypervisorNotFound):
    """A compute node by ID or UUID (the API's hypervisor)."""

    msg_fmt = 'Compute node %(hypervisor_id)s could not be found.'


# -- moves between hosts -----------------------------------------------------

class MigrationNotFound(NotFound):
    msg_fmt = 'Migration %(migration_id)s could not be found.'


class MigrationNotFoundForInstance(MigrationNotFound):
    msg_fmt = ('Migration %(migration_id)s not found for instance '
               '%(instance_id)s')


class MigrationNotFoundByStatus(MigrationNotFound):
    msg_fmt = ('Migration not found for instance %(instance_id)s with '
               'status %(status)s.')


class UnexpectedMigrationStatusError(Conflict):
    msg_fmt = ('Conflict updating migration %(migration_id)s. Expected '
               'status: %(expected)s. Actual: %(actual)s')


class InvalidMigrationState(Conflict):
    msg_fmt = ('Migration %(migration_id)s state of instance '
               '%(instance_uuid)s is %(state)s. Cannot %(method)s while the '
               'migration is in this state.')


class MigrationPreCheckError(NovaException):
    msg_fmt = 'Migration pre-check error: %(reason)s'
    code = 400


class MigrationError(NovaException):
    msg_fmt = 'Migration error: %(reason)s'


class InvalidSharedStorage(NovaException):
    msg_fmt = '%(path)s is not on shared storage: %(reason)s'


class UnableToMigrateToSelf(Invalid):
    msg_fmt = ('Unable to migrate instance (%(instance_id)s) to current '
               'host (%(host)s).')


class LiveMigrationAborted(MigrationError):
    """The live migration was cancelled on request (what makes its
    migration record 'cancelled' rather than 'error')."""
    msg_fmt = 'Live migration of instance %(instance_uuid)s was aborted.'


class NoActiveMigrationForInstance(NotFound):
    msg_fmt = 'Active live migration for instance %(instance_id)s not found'


class CannotResizeToSameFlavor(Invalid):
    msg_fmt = 'When resizing, instances must change flavor!'


class CannotResizeDisk(Invalid):
    msg_fmt = 'Server disk was unable to be resized because: %(reason)s'


class ResizeError(NovaException):
    msg_fmt = 'Resize error: %(reason)s'


class ComputeServiceInUse(Conflict):
    msg_fmt = 'Compute service of %(host)s is still in use.'


class InstanceMigrationIsNotLiveMigration(Conflict):
    msg_fmt = ('Migration %(migration_id)s of instance %(instance_uuid)s '
               'is not a live migration.')


# -- quotas -------------------------------------------------------------------


class QuotaError(Forbidden):
    """A quota would be exceeded: 403, as upstream."""

    msg_fmt = 'Quota exceeded: code=%(code)s'


class OverQuota(QuotaError):
    msg_fmt = 'Quota exceeded for resources: %(overs)s'


class TooManyInstances(QuotaError):
    msg_fmt = ('Quota exceeded for %(overs)s: Requested %(req)s, but '
               'already used %(used)s of %(allowed)s %(overs)s')


class MetadataLimitExceeded(QuotaError):
    msg_fmt = 'Maximum number of metadata items exceeds %(allowed)d'


class KeypairLimitExceeded(QuotaError):
    msg_fmt = 'Quota exceeded, too many key pairs.'


class InstanceGroupNotFound(NotFound):
    msg_fmt = 'Instance group %(group_uuid)s could not be found.'


class AggregateNotFound(NotFound):
    msg_fmt = 'Aggregate %(aggregate_id)s could not be found.'


class AggregateNameExists(Conflict):
    msg_fmt = 'Aggregate %(aggregate_name)s already exists.'


class AggregateHostExists(Conflict):
    msg_fmt = ('Aggregate %(aggregate_id)s already has host %(host)s.')


class AggregateHostNotFound(NotFound):
    msg_fmt = 'Aggregate %(aggregate_id)s has no host %(host)s.'
