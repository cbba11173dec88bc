#!/usr/bin/env bash
# Run every bpftrace tool of tools/bpftrace against a workload in the
# test VM (bpftrace runs from the host's root shared over 9p), checking
# that each attached and printed plausible output.  Installs bpftrace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! dpkg -s bpftrace >/dev/null 2>&1; then
	echo "bpftrace: installing bpftrace"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends bpftrace >/dev/null
fi
exec "$here/../vm/run.sh" --hostroot --timeout 900 "$here/../vm/guest/bpftrace.sh"
