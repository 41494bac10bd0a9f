# Sourced by submit/tornado-env.sh (the launcher) and submit/cluster/common.sh: the TornadoVM backend's device memory,
# JLLAMA_TORNADO_MEMORY_MIB in all (unset: 1024, the backend's default), as JVM options, with TornadoVM's own cap on
# a process's device allocations (-Dtornado.device.memory, default 4GB) raised to it plus 1 GiB for its staging and
# argument buffers. Sets TORNADO_MEMORY_MIB and TORNADO_MEMORY_OPTIONS (an array).
TORNADO_MEMORY_MIB="${JLLAMA_TORNADO_MEMORY_MIB:-1024}"
if [[ ! "$TORNADO_MEMORY_MIB" =~ ^[1-9][0-9]{0,8}$ ]]; then
  echo "jllama: JLLAMA_TORNADO_MEMORY_MIB must be a whole number of MiB, got '$TORNADO_MEMORY_MIB'" >&2
  exit 1
fi
TORNADO_MEMORY_OPTIONS=(-Djllama.tornado.memoryMiB="$TORNADO_MEMORY_MIB"
  -Dtornado.device.memory=$((TORNADO_MEMORY_MIB + 1024))MB)
