# Shared by standalone.sh, yarn.sh and kubernetes.sh (sourced, not run): the one place that knows the application
# jar, the JVM flags (submit/conf/jvm-flags), the TornadoVM flags rendered from TORNADOVM_HOME by
# tornado-kernels/tornado-argfile.sh, and how spark-submit is called. Nothing to edit here.
#
# Reads:  SPARK_HOME (the cluster's Spark 4.2, Scala 2.13) or SPARK_SUBMIT (a spark-submit command);
#         TORNADOVM_HOME (optional: the TornadoVM SDK, at the same path on this host and on every node) and
#         TORNADO_BACKEND_JAR (default: tornado-kernels' jar, built with that SDK);
#         JLLAMA_TORNADO_MEMORY_MIB (each executor's TornadoVM device memory, default 1024; submit/tornado-memory.sh);
#         APP_NAME (the application's name in Spark, default jllama-train);
#         JAVA_HOME (the driver's Java, which spark-submit starts: a JDK 25, since the driver runs jllama's classes);
#         LLAMA_DRY_RUN=1 prints the spark-submit command, one argument per line, instead of running it.
# Sets:   ROOT, APP_JAR, JVM_OPTIONS (driver and executors), EXECUTOR_JAVA_OPTIONS (plus TornadoVM's), TORNADO_JAR
#         (the TornadoVM backend's jar, empty without an SDK), TORNADO_EXECUTOR_OPTIONS (the device memory options, for
#         executors whose backend comes from elsewhere: the Kubernetes image), COMMON_ARGS (main class and name).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
APP_JAR="$ROOT/spark-app/target/jllama-spark-app-0.1.0-SNAPSHOT-spark.jar"
if [[ ! -f "$APP_JAR" ]]; then
  echo "jllama: $APP_JAR is missing; build it with ./mvnw -B -pl spark-app -am package -DskipTests" >&2
  exit 1
fi

JVM_OPTIONS="$(grep -v '^[[:space:]]*$' "$ROOT/submit/conf/jvm-flags" | paste -sd' ')"
EXECUTOR_JAVA_OPTIONS="$JVM_OPTIONS"
TORNADO_JAR=""
source "$ROOT/submit/tornado-memory.sh"
TORNADO_EXECUTOR_OPTIONS="${TORNADO_MEMORY_OPTIONS[*]}"
if [[ -n "${TORNADOVM_HOME:-}" ]]; then
  TORNADO_JAR="${TORNADO_BACKEND_JAR:-$ROOT/tornado-kernels/target/jllama-tornado-kernels-0.1.0-SNAPSHOT.jar}"
  # A zip's entry names are stored as they are: no unzip needed to see whether the backend was built into it.
  if [[ ! -f "$TORNADO_JAR" ]] || ! grep -qaF 'dev/jllama/tornado/TornadoBackend.class' "$TORNADO_JAR"; then
    echo "jllama: $TORNADO_JAR has no TornadoVM backend; build it with TORNADOVM_HOME set:" \
         "./mvnw -B -pl tornado-kernels -am package -DskipTests" >&2
    exit 1
  fi
  # Only the executors run a backend; the driver plans and prints.
  EXECUTOR_JAVA_OPTIONS+=" $("$ROOT/tornado-kernels/tornado-argfile.sh" --inline "$TORNADOVM_HOME" | paste -sd' ')"
  EXECUTOR_JAVA_OPTIONS+=" $TORNADO_EXECUTOR_OPTIONS"
fi

COMMON_ARGS=(--class dev.jllama.cli.Main --name "${APP_NAME:-jllama-train}")

# Stops with one line when the driver would start on too old a Java: spark-submit runs JAVA_HOME's java (else PATH's),
# and jllama's classes need 25. The executors' Java is set apart (yarn.sh: JDK; standalone.sh: EXECUTOR_JAVA_HOME).
require_driver_java() {
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java" version feature
  version="$("$java" -version 2>&1 | head -1)" || version="not there"
  feature="$(sed -n 's/^[^"]*"\([0-9]*\).*/\1/p' <<< "$version")"
  if [[ -z "$feature" || "$feature" -lt 25 ]]; then
    echo "jllama: the driver needs Java 25 and $java is $version: set JAVA_HOME to a JDK 25 here (the executors'" \
         "Java is set apart: JDK for yarn.sh, EXECUTOR_JAVA_HOME for standalone.sh)" >&2
    exit 1
  fi
}

# Runs spark-submit with the given arguments (or prints them with LLAMA_DRY_RUN=1).
spark_submit() {
  local command
  if [[ -n "${SPARK_SUBMIT:-}" ]]; then
    command="$SPARK_SUBMIT"
  elif [[ -n "${SPARK_HOME:-}" ]]; then
    command="$SPARK_HOME/bin/spark-submit"
  else
    echo "jllama: set SPARK_HOME to the cluster's Spark 4.2 (Scala 2.13) installation" >&2
    exit 1
  fi
  if [[ -n "${LLAMA_DRY_RUN:-}" ]]; then
    printf '%s\n' "$command" "$@"
  else
    require_driver_java
    exec "$command" "$@"
  fi
}
