# Sourced by submit/llama when TORNADOVM_HOME is set and tornado-kernels was built with it: adds the TornadoVM
# SDK's JVM flags (its argfile template rendered for this SDK by tornado-kernels/tornado-argfile.sh: --module-path
# is a folder of links to the SDK's jars without "." and without the SDK's Log4j2 jars, which would shadow the
# project's Log4j2) and puts the TornadoVM backend's classes on the class path, where ServiceLoader finds its
# BackendProvider; and the memory options for its arenas (submit/tornado-memory.sh).
# Expects ROOT, CP and the JVM_FLAGS array from the launcher.

tornado_template="$TORNADOVM_HOME/tornado-argfile.template"
if [[ ! -f "$tornado_template" ]]; then
  echo "llama: TORNADOVM_HOME=$TORNADOVM_HOME has no tornado-argfile.template; not a TornadoVM SDK?" >&2
  exit 1
fi
tornado_argfile="$ROOT/tornado-kernels/target/tornado-launcher.argfile"
tornado_modules="$ROOT/tornado-kernels/target/tornado-modules"
# Rendered again when missing, older than the SDK's template or its jars, or made for another SDK.
if [[ ! -f "$tornado_argfile" || ! -d "$tornado_modules" || "$tornado_template" -nt "$tornado_argfile" \
      || "$TORNADOVM_HOME/share/java/tornado" -nt "$tornado_argfile" ]] \
    || ! grep -qxF -- "# Rendered by tornado-kernels/tornado-argfile.sh for TORNADOVM_HOME=${TORNADOVM_HOME%/}" \
         "$tornado_argfile"; then
  "$ROOT/tornado-kernels/tornado-argfile.sh" "$TORNADOVM_HOME" "$tornado_argfile" "$tornado_modules"
fi
JVM_FLAGS+=("@$tornado_argfile")
source "$ROOT/submit/tornado-memory.sh"
JVM_FLAGS+=("${TORNADO_MEMORY_OPTIONS[@]}")
CP="$ROOT/tornado-kernels/target/classes:$CP"
unset tornado_template tornado_argfile tornado_modules
