# Sourced by submit/llama when TORNADOVM_HOME is set and tornado-kernels was built with it: adds the TornadoVM
# SDK's JVM flags (its argfile template rendered for this SDK, without "." on --module-path) and puts the
# TornadoVM backend's classes on the class path, where ServiceLoader finds its BackendProvider.
# Expects ROOT, CP and the JVM_FLAGS array from the launcher.

tornado_template="$TORNADOVM_HOME/tornado-argfile.template"
if [[ ! -f "$tornado_template" ]]; then
  echo "llama: TORNADOVM_HOME=$TORNADOVM_HOME has no tornado-argfile.template; not a TornadoVM SDK?" >&2
  exit 1
fi
tornado_argfile="$ROOT/tornado-kernels/target/tornado-launcher.argfile"
if [[ ! -f "$tornado_argfile" || "$tornado_template" -nt "$tornado_argfile" ]] \
    || ! grep -qF -- "$TORNADOVM_HOME/share/java/tornado" "$tornado_argfile"; then
  sed -e "s#\${TORNADOVM_HOME}#$TORNADOVM_HOME#g" -e 's#^--module-path \.:#--module-path #' \
    "$tornado_template" > "$tornado_argfile"
fi
JVM_FLAGS+=("@$tornado_argfile")
CP="$ROOT/tornado-kernels/target/classes:$CP"
unset tornado_template tornado_argfile
