#!/usr/bin/env bash
# Submits `llama train` to Kubernetes in cluster mode: the driver runs in a pod (follow it with
# `kubectl logs -f <driver pod>`), one executor pod, so one rank, per GPU, all from the image that
# kubernetes/build-image.sh builds (JDK 25, Spark, the TornadoVM SDK, this project's jars and files).
# Arguments are train's: submit/cluster/kubernetes.sh --data hdfs://nn:8020/data/c --out hdfs://nn:8020/runs/a
# (the pods need a shared file system: HDFS, or s3a:// with the cluster's Hadoop settings as --conf spark.hadoop.*).
#
# Edit, or set in the environment:
#   K8S_MASTER       the API server, as k8s://https://host:port
#   IMAGE            the image built by kubernetes/build-image.sh, as the cluster pulls it
#   NAMESPACE        the namespace (default "default"); SERVICE_ACCOUNT one allowed to create pods (default "spark")
#   SPARK_HOME       a Spark 4.2 (Scala 2.13) installation here, whose bin/spark-submit is used
#   EXECUTORS        ranks: executor pods of one GPU each (default 2)
#   EXECUTOR_CORES   cores per executor, the CPU work of one rank (default 8)
#   EXECUTOR_MEMORY  heap per executor (default 16g); DRIVER_MEMORY the driver's (default 4g)
#   GPUS             GPUs per executor: 1, or 0 for the CPU backend without kubernetes/pod-template.yaml (default 1)
#   JLLAMA_TORNADO_MEMORY_MIB  device memory of each executor's TornadoVM backend (default 1024)
# GPUs: Spark asks for nvidia.com/gpu (spark.executor.resource.gpu.vendor) and the pod template states the same
# limit and tolerates GPU nodes' taint; the NVIDIA device plugin must run on the cluster. In the image, the TornadoVM
# flags are already rendered (/opt/jllama/conf/tornado.argfile), so TORNADOVM_HOME here plays no part.
set -euo pipefail
unset TORNADOVM_HOME
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

K8S_MASTER="${K8S_MASTER:-k8s://https://kubernetes-api:6443}"
IMAGE="${IMAGE:-registry.example.com/jllama:0.1.0}"
NAMESPACE="${NAMESPACE:-default}"
SERVICE_ACCOUNT="${SERVICE_ACCOUNT:-spark}"
EXECUTORS="${EXECUTORS:-2}"
EXECUTOR_CORES="${EXECUTOR_CORES:-8}"
EXECUTOR_MEMORY="${EXECUTOR_MEMORY:-16g}"
DRIVER_MEMORY="${DRIVER_MEMORY:-4g}"
GPUS="${GPUS:-1}"

# Where the image (kubernetes/Dockerfile) puts this project's files.
in_image=/opt/jllama
log4j="-Dlog4j2.configurationFile=$in_image/conf/log4j2.properties"
executor_options="$JVM_OPTIONS $log4j"
args=("${COMMON_ARGS[@]}" --master "$K8S_MASTER" --deploy-mode cluster
  --driver-memory "$DRIVER_MEMORY" --conf "spark.driver.extraJavaOptions=$JVM_OPTIONS $log4j"
  --executor-cores "$EXECUTOR_CORES" --executor-memory "$EXECUTOR_MEMORY"
  --conf "spark.executor.instances=$EXECUTORS"
  --conf "spark.kubernetes.namespace=$NAMESPACE"
  --conf "spark.kubernetes.container.image=$IMAGE"
  --conf "spark.kubernetes.authenticate.driver.serviceAccountName=$SERVICE_ACCOUNT")
if [[ "$GPUS" -gt 0 ]]; then
  executor_options+=" @$in_image/conf/tornado.argfile $TORNADO_EXECUTOR_OPTIONS"
  args+=(--conf "spark.kubernetes.executor.podTemplateFile=$ROOT/submit/cluster/kubernetes/pod-template.yaml"
    --conf "spark.kubernetes.executor.podTemplateContainerName=spark-kubernetes-executor"
    --conf "spark.executor.resource.gpu.amount=$GPUS" --conf "spark.task.resource.gpu.amount=$GPUS"
    --conf "spark.executor.resource.gpu.vendor=nvidia.com"
    --conf "spark.executor.resource.gpu.discoveryScript=$in_image/discover-gpus.sh"
    --jars "local://$in_image/jllama-tornado-kernels.jar")
fi
args+=(--conf "spark.executor.extraJavaOptions=$executor_options")
spark_submit "${args[@]}" "local://$in_image/jllama-spark-app.jar" train "$@"
