#!/usr/bin/env bash
# clients.sh: third-party clients the interoperability tests check sluice
# with, in a Python virtual environment, without Docker.
#
#   deploy/local/clients.sh install   create or update the environment (PyPI); prints its python
#   deploy/local/clients.sh env       the export line for SLUICE_PYTHON
#
# What is installed is pinned in clients-requirements.txt: Confluent's
# Python client (librdkafka, its Avro serializers and schema registry
# client) and the Standard Webhooks Python library. Tests that use them
# read SLUICE_PYTHON and skip, saying so, when it is unset.
set -euo pipefail
SERVICE=clients
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

VENV=$SLUICE_CACHE/python-clients
REQS=$here/clients-requirements.txt
PY=$VENV/bin/python

install() {
	local python
	python=$(command -v python3) || die "python3 not found; install Python 3.9 or later"
	if [[ ! -x $PY ]]; then
		say "creating $VENV with $($python --version 2>&1)"
		"$python" -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
	fi
	# Installed again only when the pins changed.
	if ! cmp -s "$REQS" "$VENV/.requirements" 2>/dev/null; then
		say "installing $(grep -cv '^#' "$REQS") pinned packages from PyPI"
		"$PY" -m pip install -q --disable-pip-version-check -r "$REQS" || die "pip install failed"
		cp "$REQS" "$VENV/.requirements"
	fi
	"$PY" -c 'import confluent_kafka, fastavro, standardwebhooks; print("confluent-kafka", confluent_kafka.version(), "librdkafka", confluent_kafka.libversion()[0], "fastavro", fastavro.__version__)' ||
		die "the installed clients do not import"
	say "SLUICE_PYTHON=$PY"
}

case ${1:-} in
install) install ;;
env) echo "export SLUICE_PYTHON=$PY" ;;
*)
	echo "usage: $0 install|env" >&2
	exit 2
	;;
esac
