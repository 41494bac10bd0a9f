#!/usr/bin/env bash
# Runs the TornadoVM backend's checks and benchmarks on a GPU machine that has the NVIDIA driver (CUDA, OpenCL)
# but no Java and no network. Needs only target-gpu/carry.tar.gz (made by tornado-kernels/gpu/pack.sh).
# From the repository root:  tornado-kernels/gpu/run-on-gpu.sh      (logs go to $OUT, default target-gpu/out)
# GPU_SMALL=1 shrinks every size (for a rehearsal on PoCL); OCL_ICD_VENDORS, if set, is kept (e.g. PoCL's).
# Both GEMM kernels are measured: the default (128x128 tiles) and -Djllama.tornado.gemm=64 (stage *-gemm64);
# and the default without split-K (-Djllama.tornado.splitK=false, stage *-splitK-off), for the weight gradients.
# Budget: about 4 minutes on an H100/H200; every stage has its own timeout so later stages still run.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CARRY="${CARRY:-$ROOT/target-gpu/carry.tar.gz}"
OUT="${OUT:-$ROOT/target-gpu/out}"
mkdir -p "$OUT"
START=$(date +%s)
log() { echo "[run-on-gpu +$(( $(date +%s) - START ))s] $*" | tee -a "$OUT/progress.log"; }

WORK="$(mktemp -d /tmp/jllama-gpu.XXXXXX)"
log "unpacking $CARRY into $WORK"
tar xzf "$CARRY" -C "$WORK" || { log "cannot unpack $CARRY"; exit 1; }
JAVA="$WORK/jre/bin/java"
SDK="$WORK/sdk"
CP="$WORK/jars/*"

# OpenCL: the carried ocl-icd loader, pointed at NVIDIA's vendor library unless OCL_ICD_VENDORS is given.
if [[ -z "${OCL_ICD_VENDORS:-}" ]]; then
  mkdir -p "$WORK/icd"
  echo "libnvidia-opencl.so.1" > "$WORK/icd/nvidia.icd"
  export OCL_ICD_VENDORS="$WORK/icd"
fi
export LD_LIBRARY_PATH="$WORK/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
log "OCL_ICD_VENDORS=$OCL_ICD_VENDORS"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/nvidia-smi.txt"

# The SDK's argfile for this location, without "." on the module path, once per driver: each gets a module path
# without the other driver's jars (drivers are services, so any driver on the module path would be loaded) and
# without the SDK's Log4j2 jars (named modules that would shadow the class path's log4j-api; see
# tornado-kernels/tornado-argfile.sh).
mkdir -p "$WORK/mp-opencl" "$WORK/mp-ptx"
for jar in "$SDK"/share/java/tornado/*.jar; do
  case "$(basename "$jar")" in
    tornado-drivers-ptx*) ln -s "$jar" "$WORK/mp-ptx/" ;;
    tornado-drivers-opencl*) ln -s "$jar" "$WORK/mp-opencl/" ;;
    log4j-*) ;;
    *) ln -s "$jar" "$WORK/mp-ptx/"; ln -s "$jar" "$WORK/mp-opencl/" ;;
  esac
done
sed -e "s#\${TORNADOVM_HOME}#$SDK#g" -e "s#^--module-path .*#--module-path $WORK/mp-opencl#" \
    -e 's/,tornado\.drivers\.ptx//g' "$SDK/tornado-argfile.template" > "$WORK/opencl.argfile"
sed -e "s#\${TORNADOVM_HOME}#$SDK#g" -e "s#^--module-path .*#--module-path $WORK/mp-ptx#" \
    -e 's/tornado\.drivers\.opencl,tornado\.drivers\.ptx/tornado.drivers.ptx/g' \
    -e 's/--add-modules \(.*\)tornado\.drivers\.opencl$/--add-modules \1tornado.drivers.ptx/' \
    "$SDK/tornado-argfile.template" > "$WORK/ptx.argfile"
FLAGS=(-Xmx16g -Dtornado.device.memory=30GB --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+IgnoreUnrecognizedVMOptions)

if [[ -n "${GPU_SMALL:-}" ]]; then
  export JLLAMA_TORNADO_MEMORY_MIB=512
  MATMUL="15M:1:64"; STEP_GPU="tiny:2:64,15M:1:64"; STEP_CPU="tiny:2:64"; STEPS=2; CPU_STEPS=1
else
  # The float arenas' total, allocated when a backend starts (split into arenas of at most 8 GiB): 110M at batch
  # 16 x 512 is ~5.7 GB of tensors. A larger model raises it (and -Dtornado.device.memory, TornadoVM's own cap).
  export JLLAMA_TORNADO_MEMORY_MIB=12000
  MATMUL="15M:32:256"; STEP_GPU="15M:32:256,110M:16:512"; STEP_CPU="15M:32:256"; STEPS=5; CPU_STEPS=1
fi

run() {  # run NAME TIMEOUT ARGFILE MAIN ARGS...
  local name=$1 limit=$2 argfile=$3; shift 3
  log "start $name (timeout ${limit}s)"
  timeout "$limit" "$JAVA" "${FLAGS[@]}" @"$argfile" -cp "$CP" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  grep -E "RESULT|PARITY|checks|FAIL|Exception|Error" "$OUT/$name.log" | head -40
  log "end $name: exit $rc"
  return $rc
}

run devices-opencl 60 "$WORK/opencl.argfile" dev.jllama.tornado.ParityCheck --devices; cat "$OUT/devices-opencl.log"
run parity-opencl 150 "$WORK/opencl.argfile" dev.jllama.tornado.ParityCheck
run bench-tornado-opencl 200 "$WORK/opencl.argfile" dev.jllama.tornado.GpuBench --backend tornado \
  --matmul "$MATMUL" --step "$STEP_GPU" --steps "$STEPS" --profile true
run bench-tornado-opencl-gemm64 150 "$WORK/opencl.argfile" dev.jllama.tornado.GpuBench --backend tornado --gemm 64 \
  --matmul "$MATMUL" --step "${STEP_GPU%%,*}" --steps "$STEPS" --profile true
run bench-tornado-opencl-splitK-off 150 "$WORK/opencl.argfile" dev.jllama.tornado.GpuBench --backend tornado --splitK false \
  --matmul "$MATMUL" --step "${STEP_GPU%%,*}" --steps "$STEPS" --profile true
run bench-cpu 100 "$WORK/opencl.argfile" dev.jllama.tornado.GpuBench --backend cpu \
  --matmul "$MATMUL" --step "$STEP_CPU" --steps "$CPU_STEPS"
# PTX backend, if the SDK has it and time is left (budget: ~4 minutes for the whole script).
if ls "$SDK"/share/java/tornado/tornado-drivers-ptx-*.jar >/dev/null 2>&1 && (( $(date +%s) - START < 150 )); then
  run devices-ptx 40 "$WORK/ptx.argfile" dev.jllama.tornado.ParityCheck --devices; cat "$OUT/devices-ptx.log"
  run bench-tornado-ptx 60 "$WORK/ptx.argfile" dev.jllama.tornado.GpuBench --backend tornado \
    --step "${STEP_GPU%%,*}" --steps "$STEPS"
fi
grep -h -E "RESULT|PROFILE" "$OUT"/bench-*.log > "$OUT/summary.txt" 2>/dev/null
grep -h -E "PARITY|checks" "$OUT"/parity-*.log >> "$OUT/summary.txt" 2>/dev/null
log "done; summary:"
cat "$OUT/summary.txt"
rm -rf "$WORK"
