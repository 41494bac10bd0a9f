# Sourced by submit/tornado-env.sh (the launcher) and submit/cluster/common.sh: room for the TornadoVM backend's float
# arenas, JLLAMA_TORNADO_MEMORY_MIB in all (unset: 1024, the backend's default). TornadoVM keeps a host copy of every
# device array, so the arenas take as much direct memory on the host as on the device. The JVM's direct-memory limit
# (by default the heap size) becomes the arenas plus 8 GiB for everything else, and TornadoVM's own cap on device
# allocations (-Dtornado.device.memory, default 4GB) the arenas plus 1 GiB for its staging and argument buffers.
# Sets TORNADO_MEMORY_MIB and TORNADO_MEMORY_OPTIONS (an array of JVM options).
TORNADO_MEMORY_MIB="${JLLAMA_TORNADO_MEMORY_MIB:-1024}"
if [[ ! "$TORNADO_MEMORY_MIB" =~ ^[1-9][0-9]{0,8}$ ]]; then
  echo "jllama: JLLAMA_TORNADO_MEMORY_MIB must be a whole number of MiB, got '$TORNADO_MEMORY_MIB'" >&2
  exit 1
fi
TORNADO_MEMORY_OPTIONS=(-Djllama.tornado.memoryMiB="$TORNADO_MEMORY_MIB"
  -XX:MaxDirectMemorySize=$((TORNADO_MEMORY_MIB + 8192))m -Dtornado.device.memory=$((TORNADO_MEMORY_MIB + 1024))MB)
