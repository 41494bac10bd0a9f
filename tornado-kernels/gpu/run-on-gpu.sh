#!/usr/bin/env bash
# Runs the TornadoVM backend's checks and benchmarks on a GPU machine that has the NVIDIA driver (CUDA, OpenCL)
# but no Java and no network. Needs only target-gpu/carry.tar.gz (made by tornado-kernels/gpu/pack.sh).
# From the repository root:  tornado-kernels/gpu/run-on-gpu.sh      (logs go to $OUT, default target-gpu/out)
# GPU_SMALL=1 shrinks every size (for a rehearsal on PoCL); OCL_ICD_VENDORS, if set, is kept (e.g. PoCL's).
# Training tokens/s of the GPU goals' three shapes (bench --shape: gpu-15M = 15M at 32x256, gpu-110M = 110M at
# 16x1024, gpu-1.1B = 1.1B at 4x2048) on OpenCL, on PTX (when the SDK has it) and on the CPU backend of the same
# machine, each shape in its own JVM so that one that does not fit fails alone; a table of them with GPU/CPU ratios
# ends the summary. The CPU takes one timed step after its warm-up step.
# Attention forward and backward alone at the three shapes' heads (GFLOP/s over the causal half), in the first stage.
# Both GEMM kernels are measured: the default (128x128 tiles) and -Djllama.tornado.gemm=64 (stage *-gemm64);
# and the default without split-K (-Djllama.tornado.splitK=false, stage *-splitK-off), for the weight gradients.
# Budget: BUDGET_S seconds (default 480, about 8 minutes on an H100/H200; 1800 with GPU_SMALL). Stages run in order
# of importance, each with its own timeout cut to what is left of the budget; a stage with too little left is
# skipped and says so (the CPU's 1.1B step, last, needs minutes).
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

# SPEC: each shape as PRESET:BATCH:SEQ (StepBenchmark.SHAPES), to find its results; the rehearsal runs stand-ins.
SHAPES=(gpu-15M gpu-110M gpu-1.1B)
declare -A SPEC
if [[ -n "${GPU_SMALL:-}" ]]; then
  export JLLAMA_TORNADO_MEMORY_MIB=512; MEMORY_110M=512; MEMORY_1_1B=512
  MATMUL="15M:1:64"; ATTENTION="15M:1:64,tiny:2:128"; STEPS=2; CPU_STEPS=1; BUDGET=${BUDGET_S:-1800}
  # 42M needs more than the rehearsal's 512 MiB, so the path of a stage that fails alone is rehearsed too.
  SPEC=([gpu-15M]=15M:1:64 [gpu-110M]=tiny:4:128 [gpu-1.1B]=42M:1:64)
else
  # Device memory for all tensors (arenas of at most 8 GiB, allocated in full when a backend starts):
  # 15M at 32 x 256 and the matmuls fit 7800 MiB; 110M at 16 x 1024 needs ~10 GB, 1.1B at 4 x 2048 ~31-35 GB.
  export JLLAMA_TORNADO_MEMORY_MIB=7800; MEMORY_110M=16000; MEMORY_1_1B=48000
  MATMUL="15M:32:256"; ATTENTION="15M:32:256,110M:16:1024,1.1B:4:2048"; STEPS=5; CPU_STEPS=1; BUDGET=${BUDGET_S:-480}
  SPEC=([gpu-15M]=15M:32:256 [gpu-110M]=110M:16:1024 [gpu-1.1B]=1.1B:4:2048)
fi
mkdir -p "$OUT/status"
rm -f "$OUT"/status/*

shape() {  # shape NAME: GpuBench's arguments for a shape (the name itself, or the rehearsal's stand-in; --step repeats)
  if [[ -n "${GPU_SMALL:-}" ]]; then echo "--step ${SPEC[$1]}"; else echo "--shape $1"; fi
}

# run NAME TIMEOUT ARGFILE MAIN ARGS...: TIMEOUT seconds at most, and no more than is left of the budget; skipped when
# less than MIN_S (default 20) is left. JVM_EXTRA: more JVM options (the later of two -Xmx or -D wins).
run() {
  local name=$1 limit=$2 argfile=$3; shift 3
  local left=$(( BUDGET - ($(date +%s) - START) ))
  if (( left < ${MIN_S:-20} )); then
    log "skip $name: ${left}s left of the ${BUDGET}s budget, it needs ${MIN_S:-20}s"
    echo "skipped" > "$OUT/status/$name"
    return 0
  fi
  (( limit > left )) && limit=$left
  log "start $name (timeout ${limit}s)"
  # shellcheck disable=SC2086
  timeout "$limit" "$JAVA" "${FLAGS[@]}" ${JVM_EXTRA:-} @"$argfile" -cp "$CP" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$rc $limit" > "$OUT/status/$name"
  grep -E "RESULT|PARITY|checks|FAIL|Exception|Error" "$OUT/$name.log" | head -40
  log "end $name: exit $rc"
  return $rc
}

PTX=""
ls "$SDK"/share/java/tornado/tornado-drivers-ptx-*.jar >/dev/null 2>&1 && PTX=1
BIG_DEVICE="-Dtornado.device.memory=120GB"  # TornadoVM's own cap, above 1.1B's arenas

run devices-opencl 60 "$WORK/opencl.argfile" dev.jllama.tornado.ParityCheck --devices; cat "$OUT/devices-opencl.log"
run parity-opencl 150 "$WORK/opencl.argfile" dev.jllama.tornado.ParityCheck
# shellcheck disable=SC2046
run bench-tornado-opencl 150 "$WORK/opencl.argfile" dev.jllama.tornado.GpuBench --backend tornado \
  --matmul "$MATMUL" --attention "$ATTENTION" $(shape gpu-15M) --steps "$STEPS" --profile true
# shellcheck disable=SC2046
JLLAMA_TORNADO_MEMORY_MIB=$MEMORY_110M run step-opencl-gpu-110M 120 "$WORK/opencl.argfile" dev.jllama.tornado.GpuBench --backend tornado \
  $(shape gpu-110M) --steps "$STEPS"
# shellcheck disable=SC2046
JLLAMA_TORNADO_MEMORY_MIB=$MEMORY_1_1B JVM_EXTRA="$BIG_DEVICE" run step-opencl-gpu-1.1B 180 "$WORK/opencl.argfile" dev.jllama.tornado.GpuBench \
  --backend tornado $(shape gpu-1.1B) --steps 3
# shellcheck disable=SC2046
run bench-cpu 100 "$WORK/opencl.argfile" dev.jllama.tornado.GpuBench --backend cpu \
  --matmul "$MATMUL" $(shape gpu-15M) --steps "$CPU_STEPS"
if [[ -n "$PTX" ]]; then
  run devices-ptx 40 "$WORK/ptx.argfile" dev.jllama.tornado.ParityCheck --devices; cat "$OUT/devices-ptx.log"
  for name in "${SHAPES[@]}"; do
    extra=""; limit=120; steps=$STEPS; memory=$JLLAMA_TORNADO_MEMORY_MIB
    [[ $name == gpu-110M ]] && memory=$MEMORY_110M
    [[ $name == gpu-1.1B ]] && { extra=$BIG_DEVICE; limit=180; steps=3; memory=$MEMORY_1_1B; }
    # shellcheck disable=SC2046
    JLLAMA_TORNADO_MEMORY_MIB=$memory JVM_EXTRA="$extra" run "step-ptx-$name" "$limit" "$WORK/ptx.argfile" dev.jllama.tornado.GpuBench \
      --backend tornado $(shape "$name") --steps "$steps"
  done
fi
# shellcheck disable=SC2046
run step-cpu-gpu-110M 200 "$WORK/opencl.argfile" dev.jllama.tornado.GpuBench --backend cpu \
  $(shape gpu-110M) --steps "$CPU_STEPS"
# shellcheck disable=SC2046
run bench-tornado-opencl-gemm64 90 "$WORK/opencl.argfile" dev.jllama.tornado.GpuBench --backend tornado --gemm 64 \
  --matmul "$MATMUL" $(shape gpu-15M) --steps "$STEPS" --profile true
# shellcheck disable=SC2046
run bench-tornado-opencl-splitK-off 90 "$WORK/opencl.argfile" dev.jllama.tornado.GpuBench --backend tornado \
  --splitK false --matmul "$MATMUL" $(shape gpu-15M) --steps "$STEPS" --profile true
# The CPU's 1.1B: a warm-up and a timed step of 8192 tokens each, ~31 GB of heap; only when minutes are left.
# shellcheck disable=SC2046
JVM_EXTRA="-Xmx64g" MIN_S=150 run step-cpu-gpu-1.1B 300 "$WORK/opencl.argfile" dev.jllama.tornado.GpuBench \
  --backend cpu $(shape gpu-1.1B) --steps "$CPU_STEPS"

# tokens STAGE NAME: the stage's tokens/s at shape NAME, or why there is none.
tokens() {
  local stage=$1 name=$2 preset batch seq value rc limit
  IFS=: read -r preset batch seq <<< "${SPEC[$name]}"
  [[ -f "$OUT/status/$stage" ]] || { echo "not run"; return; }
  read -r rc limit < "$OUT/status/$stage"
  [[ $rc == skipped ]] && { echo "skipped"; return; }
  value=$(grep -E "^RESULT step [^ ]+ $preset [0-9,]+ params batch $batch x $seq:" "$OUT/$stage.log" 2>/dev/null \
    | sed -E 's/.*: ([0-9,]+) tokens\/s.*/\1/' | tr -d , | head -1)
  if [[ -n "$value" ]]; then echo "$value"
  elif [[ $rc == 0 ]]; then echo "no-result"
  elif [[ $rc == 124 || $rc == 137 ]]; then echo "timeout-${limit}s"
  else echo "failed-exit-$rc"; fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/ && b > 0) printf "%.1f", a / b; else printf "-" }'; }

grep -h -E "RESULT|PROFILE" "$OUT"/bench-*.log "$OUT"/step-*.log > "$OUT/summary.txt" 2>/dev/null
grep -h -E "PARITY|checks" "$OUT"/parity-*.log >> "$OUT/summary.txt" 2>/dev/null
{
  echo
  echo "training tokens/s, same machine, same run$([[ -n "${GPU_SMALL:-}" ]] && echo " (GPU_SMALL rehearsal: stand-in shapes)"):"
  printf "%-9s %-14s %12s %12s %12s %10s %10s\n" shape model:batch:seq opencl ptx cpu opencl/cpu ptx/cpu
  for name in "${SHAPES[@]}"; do
    case $name in
      gpu-15M) ocl=$(tokens bench-tornado-opencl "$name"); cpu=$(tokens bench-cpu "$name") ;;
      *) ocl=$(tokens "step-opencl-$name" "$name"); cpu=$(tokens "step-cpu-$name" "$name") ;;
    esac
    if [[ -n "$PTX" ]]; then ptx=$(tokens "step-ptx-$name" "$name"); else ptx="no-ptx-driver"; fi
    printf "%-9s %-14s %12s %12s %12s %10s %10s\n" "$name" "${SPEC[$name]}" "$ocl" "$ptx" "$cpu" \
      "$(ratio "$ocl" "$cpu")" "$(ratio "$ptx" "$cpu")"
  done
  echo "(failed-exit-N: the stage's JVM exited with N, see OUT/<stage>.log; timeout-Ns: stopped by its timeout;"
  echo " skipped: too little of the ${BUDGET}s budget was left; the CPU runs $CPU_STEPS timed step after a warm-up step)"
} >> "$OUT/summary.txt"
log "done; summary:"
cat "$OUT/summary.txt"
rm -rf "$WORK"
