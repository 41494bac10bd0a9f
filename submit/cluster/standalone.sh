#!/usr/bin/env bash
# Submits `llama train` to a Spark standalone cluster: the driver runs here (client mode) and prints progress; one
# executor, so one rank, per GPU. Arguments are train's: submit/cluster/standalone.sh --data hdfs://nn:8020/data/c
#   --out hdfs://nn:8020/runs/a --model 110M --steps 20000 ...
#
# Edit, or set in the environment:
#   SPARK_MASTER     the master URL (spark://host:7077)
#   SPARK_HOME       the Spark 4.2 (Scala 2.13) installation whose bin/spark-submit is used
#   EXECUTORS        ranks: executors of one GPU each (default 2)
#   EXECUTOR_CORES   cores per executor, the CPU work of one rank (default 8)
#   EXECUTOR_MEMORY  heap per executor (default 16g); DRIVER_MEMORY the driver's (default 4g)
#   GPUS             GPUs per executor: 1, or 0 for the CPU backend (default 1)
#   TORNADOVM_HOME   the TornadoVM SDK, at this path here and on every worker (unset: CPU backend only)
#   JLLAMA_TORNADO_MEMORY_MIB  device memory of each executor's TornadoVM backend (default 1024)
#   EXECUTOR_JAVA_HOME  a JDK 25 at this path on every worker, for the executors (spark.executorEnv.JAVA_HOME); unset,
#                    they run on their worker's JAVA_HOME, which must then be a JDK 25 (Spark's daemons need only 17)
#   LOG4J2_ON_WORKERS  this repository's submit/conf/log4j2.properties as the workers see it (default: the same
#                    path as here, e.g. a shared checkout); executors read it when they start
# The workers themselves must offer their GPUs to Spark, in their spark-defaults.conf or SPARK_WORKER_OPTS:
#   spark.worker.resource.gpu.amount N   and   spark.worker.resource.gpu.discoveryScript <path>/discover-gpus.sh
# (this folder's discover-gpus.sh); standalone workers hand each executor its GPU addresses.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SPARK_MASTER="${SPARK_MASTER:-spark://master-host:7077}"
EXECUTORS="${EXECUTORS:-2}"
EXECUTOR_CORES="${EXECUTOR_CORES:-8}"
EXECUTOR_MEMORY="${EXECUTOR_MEMORY:-16g}"
DRIVER_MEMORY="${DRIVER_MEMORY:-4g}"
GPUS="${GPUS:-1}"
LOG4J2_ON_WORKERS="${LOG4J2_ON_WORKERS:-$ROOT/submit/conf/log4j2.properties}"

args=("${COMMON_ARGS[@]}" --master "$SPARK_MASTER" --deploy-mode client
  --driver-memory "$DRIVER_MEMORY"
  --driver-java-options "$JVM_OPTIONS -Dlog4j2.configurationFile=$ROOT/submit/conf/log4j2.properties"
  --executor-cores "$EXECUTOR_CORES" --executor-memory "$EXECUTOR_MEMORY"
  --total-executor-cores "$((EXECUTORS * EXECUTOR_CORES))"
  --conf "spark.executor.instances=$EXECUTORS"
  --conf "spark.executor.extraJavaOptions=$EXECUTOR_JAVA_OPTIONS -Dlog4j2.configurationFile=$LOG4J2_ON_WORKERS")
if [[ "$GPUS" -gt 0 ]]; then
  args+=(--conf "spark.executor.resource.gpu.amount=$GPUS" --conf "spark.task.resource.gpu.amount=$GPUS")
fi
if [[ -n "${EXECUTOR_JAVA_HOME:-}" ]]; then
  args+=(--conf "spark.executorEnv.JAVA_HOME=$EXECUTOR_JAVA_HOME")
fi
if [[ -n "$TORNADO_JAR" ]]; then
  args+=(--jars "$TORNADO_JAR")
fi
spark_submit "${args[@]}" "$APP_JAR" train "$@"
