#!/usr/bin/env bash
# kafka.sh: a real Apache Kafka 4.x broker for local work and CI, without Docker.
#
#   deploy/local/kafka.sh start     install (once) and start; waits until the broker answers
#   deploy/local/kafka.sh start --fresh
#                                   the same, from an empty log dir: a broker these scripts
#                                   started is stopped and its topics deleted first (CI)
#   deploy/local/kafka.sh stop      stop it
#   deploy/local/kafka.sh status    version, pid, addresses
#   deploy/local/kafka.sh version   the running broker's version (from its log)
#   deploy/local/kafka.sh topics    list topics with the Kafka tools (a real metadata request)
#   deploy/local/kafka.sh tool NAME ARGS...
#                                   one of Kafka's own tools, for this or any broker:
#                                   consumer-groups, console-consumer, topics, transactions,
#                                   or a main class
#   deploy/local/kafka.sh reset     stop, delete every topic and record, start empty
#
# Tests and benchmarks create uniquely named topics and delete them when they
# pass; failed ones keep theirs for inspection. Every partition holds open
# files and lengthens the broker's start, so reset a broker that has
# gathered many (CI starts from an empty one).
#
# One KRaft node, broker and controller in one JVM: clients on 127.0.0.1:9092,
# controller on 127.0.0.1:9093. The broker's jars come from Maven Central with
# their runtime dependencies (Maven resolves them) into
# $SLUICE_CACHE/kafka/<version>/libs, once; the KRaft log lives under
# $SLUICE_STATE/kafka. Needs Java 17+ and Maven; installs them from Debian
# packages when they are missing and the script runs as root.
#
# Environment: KAFKA_VERSION (default 4.4.0, needs Java 17), KAFKA_HEAP_OPTS
# (default -Xms256m -Xmx1g), KAFKA_START_TIMEOUT (seconds; default 90, plus a
# second per 50 partitions already in the log dir, which the broker loads),
# SLUICE_CACHE, SLUICE_STATE, SLUICE_MAVEN_REPO (Maven's local repository,
# default $SLUICE_CACHE/maven so the whole download is in one cache).
set -euo pipefail
SERVICE=kafka
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

VERSION=${KAFKA_VERSION:-4.4.0}
LOG4J_VERSION=2.25.5 # the log4j line Kafka 4.4 ships with; slf4j 1.7 binding
HOST=127.0.0.1
PORT=9092
CONTROLLER_PORT=9093
HEAP=${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}

HOME_DIR=$SLUICE_CACHE/kafka/$VERSION
LIBS=$HOME_DIR/libs
STATE=$SLUICE_STATE/kafka
DATA=$STATE/data-$VERSION # KRaft metadata is versioned; one log dir per Kafka version
PIDFILE=$STATE/kafka.pid
LOG=$STATE/server.log # log4j, rolled at 50 MB
OUT=$STATE/kafka.out  # the JVM's own stdout/stderr
PROPS=$STATE/server.properties
LOG4J=$STATE/log4j2.properties             # the broker's logging
TOOLS_LOG4J=$STATE/tools-log4j2.properties # the admin tools': warnings to stderr
CLUSTER_ID_FILE=$STATE/cluster.id

java_bin() {
	if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
		echo "$JAVA_HOME/bin/java"
	else
		command -v java || true
	fi
}

java_major() { # the major version of the java at $1
	"$1" -version 2>&1 | sed -nE '1s/.*version "([0-9]+)(\.[0-9]+)*.*".*/\1/p'
}

ensure_java() {
	JAVA=$(java_bin)
	if [[ -z $JAVA || $(java_major "$JAVA") -lt 17 ]]; then
		say "Java 17+ not found; installing it"
		apt_install openjdk-17-jre-headless
		JAVA=$(java_bin)
		if [[ -z $JAVA || $(java_major "$JAVA") -lt 17 ]]; then
			JAVA=/usr/lib/jvm/java-17-openjdk-amd64/bin/java
		fi
		[[ -x $JAVA ]] || die "no Java 17+ available"
	fi
}

installed() { [[ -f $LIBS/.complete && -f $LIBS/kafka_2.13-$VERSION.jar ]]; }

write_pom() {
	runtime_pom "$HOME_DIR/pom.xml" kafka-broker-runtime "$VERSION" "    <!-- the broker (kafka.Kafka) and the storage format tool (kafka.tools.StorageTool) -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$VERSION</version>
    </dependency>
    <!-- admin commands (TopicCommand, BrokerApiVersionsCommand); Connect is not needed -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$VERSION</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
      </exclusions>
    </dependency>
    <!-- logging backend, as in the binary distribution -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>"
}

install() {
	if installed; then
		return 0
	fi
	if ! command -v mvn >/dev/null 2>&1; then
		say "Maven not found; installing it"
		apt_install maven
	fi
	local t0=$SECONDS tmp=$LIBS.partial mvnlog=$HOME_DIR/maven.log attempt
	mkdir -p "$HOME_DIR" "$MAVEN_REPO"
	write_pom
	say "installing Apache Kafka $VERSION from Maven Central into $LIBS (Maven repository $MAVEN_REPO)"
	for attempt in 1 2; do
		rm -rf "$tmp"
		if maven_copy "$HOME_DIR/pom.xml" "$tmp" "$mvnlog"; then
			break
		fi
		if ((attempt == 2)); then
			SERVICE=kafka show_log "$mvnlog" 30
			die "Maven could not fetch Kafka $VERSION (is Maven Central reachable? see $mvnlog)"
		fi
		warn "Maven failed (attempt $attempt); retrying"
		sleep 3
	done
	[[ -f $tmp/kafka_2.13-$VERSION.jar ]] || die "Maven ran but $tmp has no kafka_2.13-$VERSION.jar"
	rm -rf "$LIBS"
	mv "$tmp" "$LIBS"
	ls "$LIBS" >"$LIBS/.complete"
	say "installed Kafka $VERSION: $(ls "$LIBS"/*.jar | wc -l) jars, $(du -sh "$LIBS" | cut -f1), in $((SECONDS - t0))s"
}

write_config() {
	mkdir -p "$STATE" "$DATA"
	cat >"$PROPS" <<EOF
# Written by deploy/local/kafka.sh on every start; edit the script, not this file.
# One KRaft node: broker and controller in one process.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA

# A single broker: every internal topic has one replica.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# sluice creates its topics itself; auto-creation stays on for tools and tests.
auto.create.topics.enable=true
num.partitions=1
delete.topic.enable=true
# Consumer groups start at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
	cat >"$LOG4J" <<EOF
# Written by deploy/local/kafka.sh.
status = warn
name = sluice-kafka
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $LOG
appender.file.filePattern = $LOG.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
logger.storage.name = org.apache.kafka.storage.internals.log
logger.storage.level = WARN
EOF
	cat >"$TOOLS_LOG4J" <<EOF
# Written by deploy/local/kafka.sh.
status = warn
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
EOF
}

kjava() { # run a main class from the broker's class path, for at most 2 minutes
	timeout 120 "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$TOOLS_LOG4J" -cp "$LIBS/*" "$@"
}

format_storage() {
	if [[ -f $DATA/meta.properties ]]; then
		return 0
	fi
	if [[ ! -s $CLUSTER_ID_FILE ]]; then
		kjava kafka.tools.StorageTool random-uuid >"$CLUSTER_ID_FILE.tmp" 2>>"$OUT" ||
			die "could not generate a cluster id (see $OUT)"
		tail -n 1 "$CLUSTER_ID_FILE.tmp" | tr -d '[:space:]' >"$CLUSTER_ID_FILE"
		rm -f "$CLUSTER_ID_FILE.tmp"
	fi
	say "formatting KRaft storage in $DATA (cluster id $(<"$CLUSTER_ID_FILE"))"
	kjava kafka.tools.StorageTool format --ignore-formatted \
		-t "$(<"$CLUSTER_ID_FILE")" -c "$PROPS" >>"$OUT" 2>&1 || {
		show_log "$OUT" 20
		die "kafka-storage format failed"
	}
}

running() { pid_alive "$PIDFILE" kafka.Kafka; }

partitions() { # how many partition directories the log dir holds
	find "$DATA" -mindepth 1 -maxdepth 1 -type d -name '*-[0-9]*' 2>/dev/null | wc -l
}

# raise_open_files lifts this shell's open-file limit (inherited by the
# broker) as far as it may go, up to 1048576.
raise_open_files() {
	local want=1048576
	ulimit -Hn "$want" 2>/dev/null || true
	local hard
	hard=$(ulimit -Hn)
	[[ $hard == unlimited ]] && hard=$want
	ulimit -n "$((hard < want ? hard : want))" 2>/dev/null || true
	say "open-file limit for the broker: $(ulimit -n)"
	# Each partition keeps several files open; a long-used data dir can
	# exhaust the limit.
	local parts
	parts=$(partitions)
	if ((parts * 2 > $(ulimit -n))); then
		say "WARNING: $parts partitions in $DATA against an open-file limit of $(ulimit -n); the broker may run out of files. Start afresh with: $0 reset"
	fi
}

broker_version() { # the version the running broker logged at start, else the installed jar's
	local v=""
	if [[ -f $LOG ]]; then
		v=$(grep -h 'Kafka version:' "$LOG" 2>/dev/null | tail -n 1 | sed -E 's/.*Kafka version: ([^ ]+).*/\1/' || true)
	fi
	if [[ -z $v ]]; then
		v=$(find "$SLUICE_CACHE/kafka/$VERSION/libs" -maxdepth 1 -name 'kafka_2.13-*.jar' 2>/dev/null | sed -E 's/.*kafka_2\.13-(.*)\.jar/\1/' | head -n 1)
	fi
	echo "${v:-unknown}"
}

topics() { # a real metadata request through the Kafka admin client
	kjava org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$PORT" --list
}

print_usage_hint() {
	say "Kafka $(broker_version) is running: KAFKA_BROKERS=$HOST:$PORT (controller $HOST:$CONTROLLER_PORT, pid $(<"$PIDFILE"))"
	say "log: $LOG   stop with: $here/kafka.sh stop"
}

start() {
	local fresh=0
	case ${1:-} in
	"") ;;
	--fresh) fresh=1 ;;
	*) die "unknown option $1 for start (want --fresh)" ;;
	esac
	with_lock kafka
	if ((fresh)); then
		if running; then
			stop_pid "$PIDFILE" "Kafka" 60
		fi
		say "starting from an empty log dir: deleting $DATA"
		rm -rf "$DATA"
	fi
	if running; then
		say "already running"
		print_usage_hint
		return 0
	fi
	local p
	for p in "$PORT" "$CONTROLLER_PORT"; do
		if port_open "$HOST" "$p"; then
			who_listens "$p" >&2
			die "port $HOST:$p is taken by another process (not started by this script); stop it first"
		fi
	done
	ensure_java
	install
	write_config
	format_storage
	[[ -f $LOG ]] && mv -f "$LOG" "$LOG.prev"
	: >"$OUT"
	say "starting Kafka $VERSION (KRaft, broker+controller) with $HEAP"
	local t0=$SECONDS parts timeout
	# The broker loads every partition of its log dir before it answers.
	parts=$(partitions)
	timeout=${KAFKA_START_TIMEOUT:-$((90 + parts / 50))}
	# Every partition holds open files; a test suite creates thousands of
	# partitions, more than a default limit of open files allows (the
	# broker then stops accepting connections: "Too many open files").
	raise_open_files
	# setsid: the broker outlives this shell and its process group.
	# shellcheck disable=SC2086
	(cd "$STATE" && exec setsid "$JAVA" $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$LOG4J" \
		-Dkafka.logs.dir="$STATE" \
		-cp "$LIBS/*" kafka.Kafka "$PROPS" </dev/null >>"$OUT" 2>&1 9>&-) &
	local pid=$!
	echo "$pid" >"$PIDFILE"
	local i up=0
	for ((i = 0; i < timeout * 2; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			show_log "$OUT" 30
			show_log "$LOG" 40
			rm -f "$PIDFILE"
			die "Kafka exited during start"
		fi
		if port_open "$HOST" "$PORT" && grep -q 'Kafka Server started' "$LOG" 2>/dev/null; then
			up=1
			break
		fi
		sleep 0.5
	done
	if ((!up)); then
		show_log "$OUT" 20
		show_log "$LOG" 40
		die "Kafka did not come up on $HOST:$PORT within ${timeout}s, with $parts partitions to load (still running as pid $(<"$PIDFILE"); stop it with $here/kafka.sh stop)"
	fi
	# A real request through the admin client, not only an open port.
	if ! topics >"$STATE/check.out" 2>&1; then
		show_log "$STATE/check.out" 20
		show_log "$LOG" 40
		die "Kafka listens on $HOST:$PORT but a metadata request failed"
	fi
	say "broker answers metadata requests (started in $((SECONDS - t0))s)"
	print_usage_hint
}

stop() {
	with_lock kafka
	if running; then
		stop_pid "$PIDFILE" "Kafka" 60
	else
		rm -f "$PIDFILE"
		say "not running"
	fi
}

status() {
	if running; then
		say "running: Kafka $(broker_version), pid $(<"$PIDFILE"), KAFKA_BROKERS=$HOST:$PORT, controller $HOST:$CONTROLLER_PORT"
		say "data: $DATA   log: $LOG"
	else
		if installed; then
			say "stopped (Kafka $VERSION installed in $LIBS)"
		else
			say "stopped (Kafka $VERSION not installed yet)"
		fi
		return 3
	fi
}

case ${1:-} in
start) start "${2:-}" ;;
stop) stop ;;
status) status ;;
version)
	running || die "not running"
	broker_version
	;;
reset) start --fresh ;;
topics)
	running || die "not running"
	ensure_java
	topics
	;;
tool)
	installed || die "Kafka $VERSION is not installed yet: run $0 start once"
	ensure_java
	shift
	name=${1:?usage: $0 tool NAME ARGS...}
	shift
	case $name in
	consumer-groups) name=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
	console-consumer) name=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
	topics) name=org.apache.kafka.tools.TopicCommand ;;
	transactions) name=org.apache.kafka.tools.TransactionsCommand ;;
	esac
	kjava "$name" "$@"
	;;
*)
	echo "usage: $0 start [--fresh]|stop|status|version|topics|tool NAME ARGS...|reset" >&2
	exit 2
	;;
esac
