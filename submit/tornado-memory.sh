# Sourced by submit/tornado-env.sh (the launcher) and submit/cluster/common.sh: JLLAMA_TORNADO_MEMORY_MIB, the TornadoVM
# backend's device memory in all, as JVM options, with TornadoVM's own cap on a process's device allocations
# (-Dtornado.device.memory, default 4GB) raised to it plus 1 GiB for its staging and argument buffers. Unset: no
# options, and the backend's own default, which fits under TornadoVM's. Sets TORNADO_MEMORY_OPTIONS (an array).
TORNADO_MEMORY_OPTIONS=()
if [[ -n "${JLLAMA_TORNADO_MEMORY_MIB:-}" ]]; then
  if [[ ! "$JLLAMA_TORNADO_MEMORY_MIB" =~ ^[1-9][0-9]{0,8}$ ]]; then
    echo "jllama: JLLAMA_TORNADO_MEMORY_MIB must be a whole number of MiB, got '$JLLAMA_TORNADO_MEMORY_MIB'" >&2
    exit 1
  fi
  TORNADO_MEMORY_OPTIONS=(-Djllama.tornado.memoryMiB="$JLLAMA_TORNADO_MEMORY_MIB"
    -Dtornado.device.memory=$((JLLAMA_TORNADO_MEMORY_MIB + 1024))MB)
fi
