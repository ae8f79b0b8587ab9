#!/usr/bin/env bash
# Run a local cloud on the embedded default: nova-all (API, conductor,
# compute) in one process, SQLite under ./state, in-process messaging, the
# fake virt driver. First run creates the database, the standard m1.*
# flavors, a small "cirros" image and ./state/clouds.yaml for the
# openstack client. Ctrl-C stops it; the state stays for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/ensure-venv.sh
state=${NOVA_STATE_PATH:-$PWD/state}
port=${NOVA_API_PORT:-8774}
mkdir -p "$state"
conf=$state/nova.conf
if [ ! -f "$conf" ]; then
    cat > "$conf" <<CONF
[DEFAULT]
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = $port
state_path = $state
host = localhost

[fake_driver]
state_path = $state/hypervisor

[api]
# No Keystone here: noauth2 (token "user:project"), which nova-all allows
# only on a loopback address (the default strategy is keystone).
auth_strategy = noauth2
CONF
fi
# A nova.conf written before the default became keystone has no strategy:
# keep such a ./state working as it did (noauth2 on 127.0.0.1) rather
# than fail at start; a strategy or address the file sets is left alone.
if ! grep -q '^[[:space:]]*auth_strategy[[:space:]]*=' "$conf"; then
    printf '\n[api]\nauth_strategy = noauth2\n' >> "$conf"
fi
if ! grep -q '^[[:space:]]*osapi_compute_listen[[:space:]]*=' "$conf"; then
    printf '\n[DEFAULT]\nosapi_compute_listen = 127.0.0.1\n' >> "$conf"
fi
manage() { .venv/bin/nova-manage --config-file "$conf" "$@"; }
manage db sync
manage flavor create-standard >/dev/null
# A fixed ID, so that a second run finds the image it registered before.
image_id=2a5c54b1-6c3e-4d1a-9f59-0c1f6e7a1c01
if ! manage image show "$image_id" >/dev/null 2>&1; then
    head -c 1048576 /dev/zero > "$state/cirros.img"
    manage image create --id "$image_id" --name cirros \
        --file "$state/cirros.img" --disk-format raw >/dev/null
fi
cat > "$state/clouds.yaml" <<YAML
# noauth2: the token is "user:project"; user "admin" has the admin role.
clouds:
  local:
    auth_type: admin_token
    auth:
      endpoint: http://127.0.0.1:$port/v2.1
      token: demo:demo
    identity_endpoint_override: http://127.0.0.1:$port/v2.1
    image_endpoint_override: http://127.0.0.1:$port/image
    identity_api_version: '3'
    block_storage_endpoint_override: http://127.0.0.1:$port/volume/v3
    network_endpoint_override: http://127.0.0.1:$port/networking
  local-admin:
    auth_type: admin_token
    auth:
      endpoint: http://127.0.0.1:$port/v2.1
      token: admin:admin
    identity_endpoint_override: http://127.0.0.1:$port/v2.1
    image_endpoint_override: http://127.0.0.1:$port/image
    identity_api_version: '3'
    block_storage_endpoint_override: http://127.0.0.1:$port/volume/v3
    network_endpoint_override: http://127.0.0.1:$port/networking
YAML
cat <<HELP
Local cloud on http://127.0.0.1:$port/v2.1 (state in $state). In another shell:
  export OS_CLIENT_CONFIG_FILE=$state/clouds.yaml OS_CLOUD=local
  .venv/bin/openstack server create --flavor m1.tiny --image cirros --wait test
HELP
exec .venv/bin/nova-all --config-file "$conf"
