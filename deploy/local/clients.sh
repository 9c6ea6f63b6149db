#!/usr/bin/env bash
# clients.sh: third-party clients the interoperability tests check sluice
# with, without Docker.
#
#   deploy/local/clients.sh install   install or update them (PyPI, the npm registry, Maven Central)
#   deploy/local/clients.sh env       export lines for SLUICE_PYTHON, SLUICE_NODE_CLIENTS
#                                     and SLUICE_JAVA_CLIENTS
#
# Pinned in clients-requirements.txt, in a Python virtual environment:
# Confluent's Python client (librdkafka, its Avro serializers and schema
# registry client), the Standard Webhooks Python library, Stripe's and
# Slack's Python SDKs (for their webhook signatures), and pyca/cryptography
# (Ed25519, for v1a signatures). Pinned in
# clients-package.json and its lock, with the machine's Node.js (20 or
# later): GitHub's Octokit webhook methods, the Standard Webhooks
# JavaScript library and the Confluent-compatible schema registry client
# of KafkaJS (Avro through avsc). Pinned here, with
# the machine's Java and Maven (17 or later, as the broker's): Apache
# Avro's Java library, the reference implementation. Tests read
# SLUICE_PYTHON, SLUICE_NODE_CLIENTS and SLUICE_JAVA_CLIENTS and skip,
# saying so, when they are unset. The Python clients are required (install
# fails without them); the others are not (a warning).
set -euo pipefail
SERVICE=clients
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

VENV=$SLUICE_CACHE/python-clients
REQS=$here/clients-requirements.txt
PY=$VENV/bin/python
NODE_DIR=$SLUICE_CACHE/node-clients
PKG=$here/clients-package.json
LOCK=$here/clients-package-lock.json

# node_pins: what the Node.js install was made from (both files' checksums).
node_pins() { cat "$PKG" "$LOCK" | cksum; }

JAVA_DIR=$SLUICE_CACHE/java-clients
AVRO_VERSION=1.12.2
java_pins() { echo "org.apache.avro:avro:$AVRO_VERSION maven-dependency-plugin:$DEPENDENCY_PLUGIN"; }

install_python() {
	local python
	python=$(command -v python3) || die "python3 not found; install Python 3.9 or later"
	if [[ ! -x $PY ]]; then
		say "creating $VENV with $($python --version 2>&1)"
		"$python" -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
	fi
	# Installed again only when the pins changed.
	if ! cmp -s "$REQS" "$VENV/.requirements" 2>/dev/null; then
		say "installing the pinned Python packages from PyPI"
		"$PY" -m pip install -q --disable-pip-version-check -r "$REQS" || die "pip install failed"
		cp "$REQS" "$VENV/.requirements"
	fi
	"$PY" -c 'import confluent_kafka, cryptography, fastavro, standardwebhooks, stripe, slack_sdk; print("confluent-kafka", confluent_kafka.version(), "librdkafka", confluent_kafka.libversion()[0], "stripe", stripe.VERSION, "slack_sdk", slack_sdk.version.__version__, "cryptography", cryptography.__version__)' ||
		die "the installed Python clients do not import"
	say "SLUICE_PYTHON=$PY"
}

install_node() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		warn "node or npm not found: the Node.js clients are not installed, their tests skip"
		return 0
	fi
	if (($(node -p 'process.versions.node.split(".")[0]') < 20)); then
		warn "Node.js $(node --version) is older than 20: the Node.js clients are not installed, their tests skip"
		return 0
	fi
	mkdir -p "$NODE_DIR"
	if [[ $(node_pins) != $(cat "$NODE_DIR/.pins" 2>/dev/null) ]]; then
		rm -f "$NODE_DIR/.pins"
		cp "$PKG" "$NODE_DIR/package.json"
		cp "$LOCK" "$NODE_DIR/package-lock.json"
		say "installing the pinned Node.js packages from the npm registry"
		if ! (cd "$NODE_DIR" && npm ci --no-audit --no-fund --silent); then
			warn "npm ci failed: the Node.js clients are not installed, their tests skip"
			return 0
		fi
		node_pins >"$NODE_DIR/.pins"
	fi
	say "SLUICE_NODE_CLIENTS=$NODE_DIR (Node.js $(node --version))"
}

install_java() {
	local java mvnlog=$JAVA_DIR/maven.log
	if ! java=$(command -v java) || ! command -v mvn >/dev/null; then
		warn "java or mvn not found: the Java clients are not installed, their tests skip"
		return 0
	fi
	local spec
	spec=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
	if [[ ! $spec =~ ^[0-9]+$ ]] || ((spec < 17)); then
		warn "the java on the PATH is ${spec:-of an unknown version}, not 17 or later: the Java clients are not installed, their tests skip"
		return 0
	fi
	if [[ $(java_pins) == $(cat "$JAVA_DIR/.pins" 2>/dev/null) ]]; then
		say "SLUICE_JAVA_CLIENTS=$JAVA_DIR (Apache Avro $AVRO_VERSION)"
		return 0
	fi
	rm -rf "$JAVA_DIR"
	mkdir -p "$JAVA_DIR"
	runtime_pom "$JAVA_DIR/pom.xml" interop-clients 1 "    <dependency>
      <groupId>org.apache.avro</groupId>
      <artifactId>avro</artifactId>
      <version>$AVRO_VERSION</version>
    </dependency>"
	say "installing Apache Avro $AVRO_VERSION (Java) from Maven Central"
	if ! maven_copy "$JAVA_DIR/pom.xml" "$JAVA_DIR/libs" "$mvnlog"; then
		show_log "$mvnlog" 20
		warn "Maven failed: the Java clients are not installed, their tests skip"
		return 0
	fi
	java_pins >"$JAVA_DIR/.pins"
	say "SLUICE_JAVA_CLIENTS=$JAVA_DIR (Apache Avro $AVRO_VERSION, $("$java" -version 2>&1 | head -n 1))"
}

env_lines() {
	if [[ -x $PY ]] && cmp -s "$REQS" "$VENV/.requirements" 2>/dev/null; then
		echo "export SLUICE_PYTHON=$PY"
	fi
	if [[ $(node_pins) == $(cat "$NODE_DIR/.pins" 2>/dev/null) ]]; then
		echo "export SLUICE_NODE_CLIENTS=$NODE_DIR"
	fi
	if [[ $(java_pins) == $(cat "$JAVA_DIR/.pins" 2>/dev/null) ]]; then
		echo "export SLUICE_JAVA_CLIENTS=$JAVA_DIR"
	fi
}

case ${1:-} in
install)
	install_python
	install_node
	install_java
	;;
env) env_lines ;;
*)
	echo "usage: $0 install|env" >&2
	exit 2
	;;
esac
