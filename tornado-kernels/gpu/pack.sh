#!/usr/bin/env bash
# Builds the one file the GPU machine needs, target-gpu/carry.tar.gz (ignored by git): a jlinked JRE 25, the
# TornadoVM SDK (TORNADOVM_HOME, or TORNADO_CARRY_SDK), the ocl-icd OpenCL loader,
# and a thin jar set without Spark or Hadoop (model, tornado-kernels, jackson, log4j-api). The JRE is linked
# uncompressed: gzip packs it smaller than jlink's own zip compression does.
# Usage: TORNADOVM_HOME=SDK JAVA_HOME=JDK25 tornado-kernels/gpu/pack.sh   (TORNADO_CARRY_SDK=DIR carries another
# SDK, e.g. one built with both the OpenCL and the PTX driver, which the GPU script then also measures)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${TORNADOVM_HOME:?set TORNADOVM_HOME to a TornadoVM SDK}"
JDK="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
SDK="${TORNADO_CARRY_SDK:-}"
[[ -z "$SDK" ]] && SDK="$TORNADOVM_HOME"
SDK="$(readlink -f "$SDK")"
DEST="$ROOT/target-gpu"
STAGE="$DEST/stage"
rm -rf "$STAGE" && mkdir -p "$STAGE/jars" "$STAGE/lib"

echo "pack: building model and tornado-kernels" >&2
(cd "$ROOT" && ./mvnw -q -B -o -pl tornado-kernels -am package -DskipTests >&2)
(cd "$ROOT" && ./mvnw -q -B -o -pl model dependency:build-classpath -Dmdep.outputFile="$STAGE/model.classpath" >&2)
cp "$ROOT"/model/target/jllama-model-*.jar "$ROOT"/tornado-kernels/target/jllama-tornado-kernels-*.jar "$STAGE/jars/"
tr ':' '\n' < "$STAGE/model.classpath" | grep -E '/(jackson-(core|databind|annotations)|log4j-api)-[0-9][^/]*\.jar$' \
  | while read -r jar; do cp "$jar" "$STAGE/jars/"; done
rm "$STAGE/model.classpath"

echo "pack: jlink JRE from $JDK" >&2
"$JDK/bin/jlink" --add-modules java.base,java.desktop,java.logging,java.management,java.naming,java.sql,java.xml,jdk.unsupported,jdk.incubator.vector,jdk.internal.vm.ci,jdk.management,jdk.crypto.ec,jdk.zipfs \
  --strip-debug --no-man-pages --no-header-files --output "$STAGE/jre" 2>/dev/null

echo "pack: SDK $SDK" >&2
mkdir -p "$STAGE/sdk/share/java"
cp -rL "$SDK/share/java/tornado" "$SDK/share/java/graalJars" "$STAGE/sdk/share/java/"
cp -rL "$SDK/lib" "$SDK/tornado-argfile.template" "$STAGE/sdk/"
cp -L "$SDK"/LICENSE_* "$STAGE/sdk/" 2>/dev/null || true
# Jars the runtime never loads here (benchmarks, unit tests, examples, fuzzing, NVIDIA library bindings).
rm -f "$STAGE"/sdk/share/java/tornado/{tornado-benchmarks,tornado-unittests,tornado-examples,tornado-fuzz,tornado-matrices}-*.jar \
      "$STAGE"/sdk/share/java/tornado/{jmh-core,junit,hamcrest-core,lucene-core,ejml-}*.jar
for loader in /usr/lib/x86_64-linux-gnu/libOpenCL.so.1 /usr/lib64/libOpenCL.so.1; do
  [[ -f "$loader" ]] && { cp -L "$loader" "$STAGE/lib/libOpenCL.so.1"; break; }
done

tar czf "$DEST/carry.tar.gz" -C "$STAGE" .
rm -rf "$STAGE"
ls -l "$DEST/carry.tar.gz" >&2
echo "$DEST/carry.tar.gz"
