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
#   JDK              a JDK 25 shipped with the job, for nodes whose Java is older (Spark 4 needs only 17): a JDK folder
#                    (packed once into spark-app/target/jdk-archives) or a .tar.gz, .tgz or .zip of one; NAME in
#                    JDK=PATH#NAME is the folder each container unpacks it to (default jdk). The application master and
#                    the executors run on it (spark.yarn.appMasterEnv.JAVA_HOME, spark.executorEnv.JAVA_HOME).
#                    Unset: they run on the NodeManagers' JAVA_HOME, which must then be a JDK 25.
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
if [[ -n "${JDK:-}" ]]; then
  jdk_path="${JDK%%#*}"
  jdk_name=jdk
  [[ "$JDK" == *"#"* ]] && jdk_name="${JDK#*#}"
  if [[ -d "$jdk_path" ]]; then
    [[ -x "$jdk_path/bin/java" ]] || { echo "jllama: JDK=$jdk_path has no bin/java" >&2; exit 1; }
    # Packed without the sources and manual pages; again only when the JDK's release file is newer than the pack.
    jdk_archive="$ROOT/spark-app/target/jdk-archives/$(basename "$(cd "$jdk_path" && pwd -P)").tar.gz"
    if [[ -z "${LLAMA_DRY_RUN:-}" && ( ! -f "$jdk_archive" || "$jdk_path/release" -nt "$jdk_archive" ) ]]; then
      echo "jllama: packing $jdk_path into $jdk_archive to ship it with the job (once)" >&2
      mkdir -p "$(dirname "$jdk_archive")"
      tar -C "$jdk_path" --exclude=./lib/src.zip --exclude=./man --exclude=./jmods -cf - . | gzip -1 > "$jdk_archive.tmp"
      mv "$jdk_archive.tmp" "$jdk_archive"
    fi
    jdk_home="./$jdk_name"
  elif [[ -f "$jdk_path" ]]; then
    jdk_archive="$jdk_path"
    # Where bin/java lies inside the archive: a JDK's own tarball has it under a folder such as jdk-25.0.3+9/.
    case "$jdk_path" in
      *.zip) java_entry="$(unzip -Z1 "$jdk_path" 2>/dev/null | grep -m1 -E '(^|/)bin/java$' || true)" ;;
      *.tar.gz|*.tgz) java_entry="$(tar -tzf "$jdk_path" 2>/dev/null | grep -m1 -E '(^|/)bin/java$' || true)" ;;
      *) echo "jllama: JDK=$jdk_path is neither a folder nor a .tar.gz, .tgz or .zip" >&2; exit 1 ;;
    esac
    [[ -n "$java_entry" ]] || { echo "jllama: JDK=$jdk_path holds no bin/java" >&2; exit 1; }
    jdk_folder="${java_entry%bin/java}"
    jdk_folder="${jdk_folder#./}"
    jdk_home="./$jdk_name${jdk_folder:+/${jdk_folder%/}}"
  else
    echo "jllama: JDK=$jdk_path is not there" >&2
    exit 1
  fi
  args+=(--archives "$jdk_archive#$jdk_name" --conf "spark.executorEnv.JAVA_HOME=$jdk_home"
    --conf "spark.yarn.appMasterEnv.JAVA_HOME=$jdk_home")
fi
if [[ -n "$TORNADO_JAR" ]]; then
  args+=(--jars "$TORNADO_JAR")
fi
spark_submit "${args[@]}" "$APP_JAR" train "$@"
