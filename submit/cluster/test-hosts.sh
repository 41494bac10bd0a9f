#!/usr/bin/env bash
# Test hosts on one machine: N network namespaces on one bridge, each with its own address and its own link shaped
# to a chosen rate in both directions, a Spark standalone master on the bridge side and one Spark worker inside each
# host, so that the executors a worker starts live in that host's namespace and talk to the others over the links.
#
#   submit/cluster/test-hosts.sh up N [--link-gbps X] [--worker-cores C] [--worker-memory M] [--worker-java JDK]
#                                     [--executor-java JDK] [--no-spark]
#   submit/cluster/test-hosts.sh down
#   submit/cluster/test-hosts.sh status
#
# `up` prints what it made; its last line is the master URL (spark://198.18.0.1:7077). Run again with the same
# arguments it leaves everything as it is; with others it takes the old hosts down first. A failed `up` takes down
# what it made. `down` removes every namespace, link and process it made, and nothing else. Needs root and `ip netns`.
# Without --link-gbps the links are not shaped. --no-spark makes the hosts without the master and workers.
#
# Names start with jlh- (namespaces jlh-h1..jlh-hN, their links jlh-v1..jlh-vN, the bridge jlh-br). Addresses come
# from the benchmarking range 198.18.0.0/15 only: the bridge 198.18.0.1/24, host i 198.18.0.(10+i). Inside a host its
# link is eth0. Logs, process ids and the host list (`jlh-hI ADDRESS` per line, for tools) are in
# $JLLAMA_TEST_HOSTS_DIR (default /tmp/jllama-test-hosts). The master and workers run on --worker-java's java (a JDK
# folder; default JAVA_HOME, else the JDK 25) with the launcher's class path (spark-app/target, built by submit/llama or
# ./mvnw -pl spark-app -am package). Spark's daemons need Java 17, jllama's executors 25: --executor-java is the
# workers' JAVA_HOME, on which they start executors unless a job names its own (spark.executorEnv.JAVA_HOME); default
# the worker's Java. `up 2 --worker-java /usr/lib/jvm/java-17-openjdk-amd64` makes a cluster of Java 17 nodes.
# The master and workers authenticate and encrypt their RPC (spark.authenticate, spark.network.crypto.enabled) with a
# secret made by each `up`: $JLLAMA_TEST_HOSTS_DIR/spark-secret, readable by root only, which a driver is given with
# --conf spark.jllama.authenticate.secretFile=$JLLAMA_TEST_HOSTS_DIR/spark-secret.
set -Eeuo pipefail # -E: the ERR trap of a failed `up` also sees failures inside functions

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${JLLAMA_TEST_HOSTS_DIR:-/tmp/jllama-test-hosts}"
PREFIX=jlh
BRIDGE="$PREFIX-br"
NET=198.18.0
BRIDGE_ADDRESS="$NET.1"
MASTER_PORT=7077
MASTER_URL="spark://$BRIDGE_ADDRESS:$MASTER_PORT"
MAX_HOSTS=16

fail() {
  echo "test-hosts.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: test-hosts.sh up N [--link-gbps X] [--worker-cores C] [--worker-memory M] [--worker-java JDK]" \
       "[--executor-java JDK] [--no-spark] | down | status" >&2
  exit 2
}

host_name() { echo "$PREFIX-h$1"; }
host_address() { echo "$NET.$((10 + $1))"; }

our_namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-h[0-9]*$" || true; }

# A process id from one of our pid files, if it is still the process we started (its command line carries our mark).
alive_pid() {
  local file="$1" pid
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "-Djllama.testHosts=$STATE " \
    && echo "$pid"
}

require() {
  [[ "$(id -u)" == 0 ]] || fail "needs root (network namespaces, links and tc); running as $(id -un)"
  command -v ip >/dev/null || fail "needs iproute2's ip"
  ip netns list >/dev/null 2>&1 || fail "'ip netns' does not work here"
}

# tbf on a link's egress: burst of 2 ms at the rate, at least 64 KiB (one GSO packet, so that tbf does not have to
# split them), and up to 20 ms of queue.
shape() {
  local dev="$1" gbps="$2" netns="${3:-}"
  local mbit burst
  mbit="$(awk -v g="$gbps" 'BEGIN { printf "%d", g * 1000 }')"
  burst="$(awk -v m="$mbit" 'BEGIN { b = m * 1e6 / 8 * 0.002; if (b < 65536) b = 65536; printf "%d", b }')"
  ${netns:+ip netns exec "$netns"} tc qdisc replace dev "$dev" root tbf rate "${mbit}mbit" burst "$burst" latency 20ms
}

# The daemons' java command, on the JDK in $1.
java_command() {
  local java="$1/bin/java"
  [[ -x "$java" ]] || fail "no java at $java: give --worker-java a JDK folder (Java 17 or later), or set JAVA_HOME"
  local jar="$ROOT/spark-app/target/jllama-spark-app-0.1.0-SNAPSHOT.jar" classpath="$ROOT/spark-app/target/classpath.txt"
  [[ -f "$jar" && -f "$classpath" ]] \
    || fail "no $jar: build it first (./mvnw -B -pl spark-app -am package -DskipTests, or run submit/llama once)"
  local flags=()
  while IFS= read -r flag; do [[ -n "$flag" ]] && flags+=("$flag"); done < "$ROOT/submit/conf/jvm-flags"
  APP_CLASSPATH="$jar:$(cat "$classpath")"
  # spark.worker.timeout 15 s (default 60): the master gives up on a cut-off host's worker, and so lets another host
  # start the replacement executor, within 15 s; workers send heartbeats every quarter of it.
  JAVA_CMD=("$java" -Xmx256m "${flags[@]}" "-Djllama.testHosts=$STATE" "-Dlog4j2.configurationFile=$STATE/log4j2.properties"
    -Dspark.worker.timeout=15 -cp "$APP_CLASSPATH")
}

# Starts a daemon in the background (in a namespace if given), its output in LOG and its process id in PIDFILE.
start_daemon() {
  local netns="$1" pidfile="$2" log="$3"
  shift 3
  if [[ -n "$netns" ]]; then
    setsid ip netns exec "$netns" "$@" > "$log" 2>&1 < /dev/null &
  else
    setsid "$@" > "$log" 2>&1 < /dev/null &
  fi
  echo $! > "$pidfile"
}

down() {
  require
  # Every process inside our namespaces (the workers and the executors they started), then the master.
  local ns pids
  for ns in $(our_namespaces); do
    pids="$(ip netns pids "$ns" 2>/dev/null || true)"
    [[ -n "$pids" ]] && kill -KILL $pids 2>/dev/null || true
  done
  local pid
  if pid="$(alive_pid "$STATE/master.pid")"; then
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  for ns in $(our_namespaces); do
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      [[ -z "$(ip netns pids "$ns" 2>/dev/null)" ]] && break
      sleep 0.2
    done
    ip netns delete "$ns" # takes its end of the link, and so the link, with it
  done
  for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$PREFIX-" || true); do
    ip link delete "$dev" 2>/dev/null || true
  done
  rm -f "$STATE"/*.pid "$STATE/hosts" "$STATE/state" "$STATE/spark-secret" "$STATE/spark-auth.conf"
}

status() {
  require
  local namespaces
  namespaces="$(our_namespaces)"
  if [[ -z "$namespaces" ]]; then
    echo "no test hosts"
    return 1
  fi
  [[ -f "$STATE/state" ]] && echo "test hosts: $(cat "$STATE/state")"
  ip -br addr show dev "$BRIDGE" 2>/dev/null | sed 's/^/bridge /' || true
  local ns qdisc address pid
  for ns in $namespaces; do
    address="$(ip netns exec "$ns" ip -4 -o addr show dev eth0 | awk '{print $4}')"
    qdisc="$(ip netns exec "$ns" tc qdisc show dev eth0 | awk '$2 == "tbf" {print "shaped " $8}' | head -1)"
    echo "$ns $address ${qdisc:-unshaped} processes: $(ip netns pids "$ns" | wc -l)"
  done
  if pid="$(alive_pid "$STATE/master.pid")"; then echo "master $MASTER_URL (pid $pid)"; else echo "no master"; fi
}

# True if what runs now is what `up` with these settings would make.
matches() {
  local wanted="$1" spark="$2"
  [[ -f "$STATE/state" ]] || return 1
  local recorded
  recorded="$(cat "$STATE/state")"
  [[ "$recorded" == "$wanted spark=yes" || "$recorded" == "$wanted spark=$spark" ]] || return 1
  [[ "$(our_namespaces | wc -l)" == "$(sed -n 's/^hosts=\([0-9]*\).*/\1/p' "$STATE/state")" ]] || return 1
  if [[ "$recorded" == *"spark=yes" ]]; then
    [[ -s "$STATE/spark-secret" ]] || return 1 # daemons started without authentication
    alive_pid "$STATE/master.pid" >/dev/null || return 1
    local f
    for f in "$STATE"/worker-*.pid; do alive_pid "$f" >/dev/null || return 1; done
  fi
}

count_in() { if [[ -f "$1" ]]; then grep -c "$2" "$1" || true; else echo 0; fi; }

up() {
  require
  [[ $# -ge 1 ]] || usage
  local n="$1" gbps="" cores=1 memory=2g spark=yes worker_java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
  local executor_java=""
  shift
  [[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 && "$n" -le $MAX_HOSTS ]] || fail "N must be a whole number from 1 to $MAX_HOSTS, got '$n'"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --link-gbps)
        [[ $# -ge 2 ]] || fail "--link-gbps needs a value"
        [[ "$2" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v g="$2" 'BEGIN { exit !(g >= 0.01 && g <= 100) }' \
          || fail "--link-gbps must be a number from 0.01 to 100 (Gbit/s), got '$2'"
        gbps="$(awk -v g="$2" 'BEGIN { printf "%g", g }')"; shift 2 ;; # 1, 1.0 and 1.00 are the same links
      --worker-cores)
        [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || fail "--worker-cores must be a whole number of at least 1, got '${2:-}'"
        cores="$2"; shift 2 ;;
      --worker-memory)
        [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*[mg]$ ]] || fail "--worker-memory must be like 2g or 512m, got '${2:-}'"
        memory="$2"; shift 2 ;;
      --worker-java)
        [[ $# -ge 2 && -x "$2/bin/java" ]] || fail "--worker-java must be a JDK folder (with bin/java), got '${2:-}'"
        worker_java="$2"; shift 2 ;;
      --executor-java)
        [[ $# -ge 2 && -x "$2/bin/java" ]] || fail "--executor-java must be a JDK folder (with bin/java), got '${2:-}'"
        executor_java="$2"; shift 2 ;;
      --no-spark) spark=no; shift ;;
      *) fail "unknown option '$1'" ;;
    esac
  done
  executor_java="${executor_java:-$worker_java}"
  local wanted="hosts=$n link_gbps=${gbps:-unshaped} worker_cores=$cores worker_memory=$memory"
  wanted+=" worker_java=$worker_java executor_java=$executor_java"
  mkdir -p "$STATE"
  if matches "$wanted" "$spark"; then
    echo "test hosts already up: $(cat "$STATE/state")"
    [[ "$spark" == yes ]] && echo "$MASTER_URL"
    return 0
  fi
  down >/dev/null

  trap 'echo "test-hosts.sh: up failed; taking down what it made" >&2; down >/dev/null 2>&1 || true' ERR
  [[ "$spark" == no ]] || java_command "$worker_java"
  ip link add "$BRIDGE" type bridge
  ip addr add "$BRIDGE_ADDRESS/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  : > "$STATE/hosts"
  local i ns address
  for ((i = 1; i <= n; i++)); do
    ns="$(host_name "$i")"
    address="$(host_address "$i")"
    ip netns add "$ns"
    ip link add "$PREFIX-v$i" type veth peer name "$PREFIX-v${i}n"
    ip link set "$PREFIX-v${i}n" netns "$ns"
    ip -n "$ns" link set "$PREFIX-v${i}n" name eth0
    ip -n "$ns" addr add "$address/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip link set "$PREFIX-v$i" master "$BRIDGE"
    ip link set "$PREFIX-v$i" up
    if [[ -n "$gbps" ]]; then
      shape "$PREFIX-v$i" "$gbps"     # into the host
      shape eth0 "$gbps" "$ns"        # out of the host
    fi
    echo "$ns $address" >> "$STATE/hosts"
    echo "host $ns $address${gbps:+, link ${gbps} Gbit/s each way}"
  done

  if [[ "$spark" == yes ]]; then
    # The daemons log registrations (what `up` waits for) and executor launches; the rest at warn.
    cat > "$STATE/log4j2.properties" <<'EOF'
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.deploy.name = org.apache.spark.deploy
logger.deploy.level = info
EOF
    # Executors start from the worker's Spark home; they take the application's class path, so an empty jars
    # folder is all it needs (as for submit/llama's local clusters).
    export SPARK_HOME="${SPARK_HOME:-$ROOT/spark-app/target/spark-home}"
    mkdir -p "$SPARK_HOME/jars"
    export SPARK_SCALA_VERSION="${SPARK_SCALA_VERSION:-2.13}"
    # The cluster's shared secret, in files (not on command lines, which every user of the machine can read).
    (
      umask 077
      od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$STATE/spark-secret"
      printf 'spark.authenticate true\nspark.network.crypto.enabled true\nspark.authenticate.secret %s\n' \
        "$(cat "$STATE/spark-secret")" > "$STATE/spark-auth.conf"
    )
    SPARK_LOCAL_IP="$BRIDGE_ADDRESS" start_daemon "" "$STATE/master.pid" "$STATE/master.log" "${JAVA_CMD[@]}" \
      org.apache.spark.deploy.master.Master --host "$BRIDGE_ADDRESS" --port "$MASTER_PORT" --webui-port 0 \
      --properties-file "$STATE/spark-auth.conf"
    for ((i = 1; i <= n; i++)); do
      ns="$(host_name "$i")"
      address="$(host_address "$i")"
      mkdir -p "$STATE/worker-$i"
      # SPARK_DIST_CLASSPATH: executors get the application's classes from the worker, so that a driver started
      # by submit/llama (not spark-submit, which would ship the jar) needs no spark.executor.extraClassPath.
      # JAVA_HOME: the Java the worker starts its executors on (Spark's WorkerCommandBuilder), as spark-env.sh sets it.
      JAVA_HOME="$executor_java" SPARK_LOCAL_IP="$address" SPARK_DIST_CLASSPATH="$APP_CLASSPATH" start_daemon "$ns" "$STATE/worker-$i.pid" "$STATE/worker-$i.log" "${JAVA_CMD[@]}" \
        org.apache.spark.deploy.worker.Worker --host "$address" --cores "$cores" --memory "$memory" --webui-port 0 \
        --work-dir "$STATE/worker-$i" --properties-file "$STATE/spark-auth.conf" "$MASTER_URL"
    done
    local deadline=$((SECONDS + 120))
    while [[ "$(count_in "$STATE/master.log" "Registering worker")" -lt "$n" ]]; do
      if [[ $SECONDS -gt $deadline ]] || ! alive_pid "$STATE/master.pid" >/dev/null; then
        tail -n 20 "$STATE/master.log" >&2 || true
        false # the ERR trap takes everything down
      fi
      sleep 0.5
    done
    echo "spark: master on $BRIDGE_ADDRESS, one worker of $cores core(s) and $memory in each host, on $worker_java" \
         "(executors on $executor_java); logs in $STATE"
  fi
  echo "$wanted spark=$spark" > "$STATE/state"
  trap - ERR
  [[ "$spark" == yes ]] && echo "$MASTER_URL"
  return 0
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  status) status ;;
  *) usage ;;
esac
