#!/usr/bin/env bash
# Submits `llama train` to YARN: the driver runs here (client mode) and prints progress; one executor, so one
# rank, per GPU. Arguments are train's: submit/cluster/yarn.sh --data hdfs://nn:8020/data/c --out hdfs://nn:8020/runs/a
#
# Edit, or set in the environment:
#   SPARK_HOME       the Spark 4.2 (Scala 2.13) installation whose bin/spark-submit is used
#   HADOOP_CONF_DIR  the cluster's Hadoop configuration (yarn-site.xml, core-site.xml, hdfs-site.xml)
#   QUEUE            the YARN queue (default "default")
#   EXECUTORS        ranks: executors of one GPU each (default 2)
#   EXECUTOR_CORES   cores per executor, the CPU work of one rank (default 8)
#   EXECUTOR_MEMORY  heap per executor (default 16g); DRIVER_MEMORY the driver's (default 4g)
#   GPUS             GPUs per executor: 1, or 0 for the CPU backend (default 1)
#   TORNADOVM_HOME   the TornadoVM SDK, at this path here and on every NodeManager (unset: CPU backend only)
#   JLLAMA_TORNADO_MEMORY_MIB  device memory of each executor's TornadoVM backend (default 1024)
# GPUs: Spark asks YARN for its resource yarn.io/gpu (spark.yarn.resourceGpuDeviceName) for every executor, so the
# cluster must schedule GPUs (yarn.resource-types=yarn.io/gpu, the NodeManagers' GPU plugin with isolation). YARN
# does not tell Spark which GPU it gave a container: this folder's discover-gpus.sh, shipped with the job and run by
# each executor as it starts, lists the GPUs nvidia-smi shows inside the container.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

QUEUE="${QUEUE:-default}"
EXECUTORS="${EXECUTORS:-2}"
EXECUTOR_CORES="${EXECUTOR_CORES:-8}"
EXECUTOR_MEMORY="${EXECUTOR_MEMORY:-16g}"
DRIVER_MEMORY="${DRIVER_MEMORY:-4g}"
GPUS="${GPUS:-1}"

# Files shipped to every container's working directory, where the executors find them as they start.
files="$ROOT/submit/conf/log4j2.properties"
args=("${COMMON_ARGS[@]}" --master yarn --deploy-mode client --queue "$QUEUE"
  --driver-memory "$DRIVER_MEMORY"
  --driver-java-options "$JVM_OPTIONS -Dlog4j2.configurationFile=$ROOT/submit/conf/log4j2.properties"
  --num-executors "$EXECUTORS" --executor-cores "$EXECUTOR_CORES" --executor-memory "$EXECUTOR_MEMORY"
  --conf "spark.executor.extraJavaOptions=$EXECUTOR_JAVA_OPTIONS -Dlog4j2.configurationFile=log4j2.properties")
if [[ "$GPUS" -gt 0 ]]; then
  files+=",$ROOT/submit/cluster/discover-gpus.sh"
  args+=(--conf "spark.executor.resource.gpu.amount=$GPUS" --conf "spark.task.resource.gpu.amount=$GPUS"
    --conf "spark.executor.resource.gpu.discoveryScript=./discover-gpus.sh")
fi
args+=(--files "$files")
if [[ -n "$TORNADO_JAR" ]]; then
  args+=(--jars "$TORNADO_JAR")
fi
spark_submit "${args[@]}" "$APP_JAR" train "$@"
