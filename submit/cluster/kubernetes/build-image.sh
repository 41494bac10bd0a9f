#!/usr/bin/env bash
# Builds the jllama image for Kubernetes from kubernetes/Dockerfile: stages its context in
# spark-app/target/image-context (Spark, the TornadoVM SDK, this project's jars and files) and runs docker build.
# Usage: SPARK_DIST=/path/to/spark-4.2.0-bin-hadoop3 TORNADOVM_HOME=/path/to/sdk \
#          submit/cluster/kubernetes/build-image.sh registry.example.com/jllama:0.1.0
# Needs both jars built first: ./mvnw -B -pl spark-app -am package -DskipTests, and with TORNADOVM_HOME set
# ./mvnw -B -pl tornado-kernels -am package -DskipTests. Push the image where the cluster pulls from (docker push).
# LLAMA_DRY_RUN=1 stages the context and prints the docker command instead of running it.
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: SPARK_DIST=... TORNADOVM_HOME=... $0 IMAGE" >&2
  exit 2
fi
image="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$here/../../.." && pwd)"
: "${SPARK_DIST:?set SPARK_DIST to an unpacked Spark 4.2 (Scala 2.13) distribution}"
: "${TORNADOVM_HOME:?set TORNADOVM_HOME to the TornadoVM 5.2.0-jdk25 SDK}"
if [[ ! -x "$SPARK_DIST/kubernetes/dockerfiles/spark/entrypoint.sh" ]]; then
  echo "build-image: $SPARK_DIST has no kubernetes/dockerfiles/spark/entrypoint.sh; not a Spark distribution?" >&2
  exit 1
fi
app_jar="$ROOT/spark-app/target/jllama-spark-app-0.1.0-SNAPSHOT-spark.jar"
tornado_jar="${TORNADO_BACKEND_JAR:-$ROOT/tornado-kernels/target/jllama-tornado-kernels-0.1.0-SNAPSHOT.jar}"
for jar in "$app_jar" "$tornado_jar"; do
  if [[ ! -f "$jar" ]]; then
    echo "build-image: $jar is missing; build it first (see the header of $0)" >&2
    exit 1
  fi
done

context="$ROOT/spark-app/target/image-context"
rm -rf "$context"
mkdir -p "$context/jllama"
cp -a "$SPARK_DIST" "$context/spark"
cp -aL "$TORNADOVM_HOME" "$context/tornadovm"
cp "$app_jar" "$context/jllama/jllama-spark-app.jar"
cp "$tornado_jar" "$context/jllama/jllama-tornado-kernels.jar"
cp -r "$ROOT/submit/conf" "$context/jllama/conf"
cp "$ROOT/submit/cluster/discover-gpus.sh" "$ROOT/tornado-kernels/tornado-argfile.sh" "$context/jllama/"
cp "$here/Dockerfile" "$context/Dockerfile"

command=(docker build --tag "$image" "$context")
if [[ -n "${LLAMA_DRY_RUN:-}" ]]; then
  printf '%s\n' "${command[@]}"
else
  exec "${command[@]}"
fi
