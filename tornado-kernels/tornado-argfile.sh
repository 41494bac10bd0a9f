#!/usr/bin/env bash
# Renders a TornadoVM SDK's JVM flags for this project from the SDK's tornado-argfile.template, with its path filled
# in and its --module-path pointed at every jar of the SDK's share/java/tornado except its Log4j2 jars. Those
# (log4j-api 2.17.1, log4j-core 2.25.4 in 5.2.0-jdk25) would become named modules (jdk.compiler binds log4j-core as
# an annotation processor service, which pulls in log4j-api) that shadow the project's Log4j2 on the class path:
# Spark then dies in SparkConf with a ClassCastException between the two. No TornadoVM module requires Log4j2 (if a
# later SDK's did, the JVM would stop at start-up naming it). "." is not on the module path; the kernel classes go
# on the class path.
#
# Usage: tornado-argfile.sh TORNADOVM_HOME ARGFILE MODULES
#          writes ARGFILE (for java @ARGFILE) whose --module-path is MODULES, a folder of links to those jars
#          (used by submit/tornado-env.sh, the pom's tests and the Kubernetes image)
#        tornado-argfile.sh --inline TORNADOVM_HOME
#          prints the flags, one per line without comments, with --module-path listing the jars themselves: for
#          spark.executor.extraJavaOptions on nodes that have the SDK at the same path (submit/cluster/common.sh)
set -euo pipefail
inline=false
if [[ "${1:-}" == "--inline" ]]; then
  inline=true
  shift
fi
if { $inline && [[ $# -ne 1 ]]; } || { ! $inline && [[ $# -ne 3 ]]; }; then
  echo "usage: $0 TORNADOVM_HOME ARGFILE MODULES | $0 --inline TORNADOVM_HOME" >&2
  exit 2
fi
sdk="${1%/}"
template="$sdk/tornado-argfile.template"
if [[ ! -f "$template" || ! -d "$sdk/share/java/tornado" ]]; then
  echo "tornado-argfile: $sdk has no tornado-argfile.template or share/java/tornado; not a TornadoVM SDK?" >&2
  exit 1
fi
if ! grep -q '^--module-path ' "$template"; then
  echo "tornado-argfile: $template has no --module-path line" >&2
  exit 1
fi

# The SDK's jars that belong on the module path, one per line.
module_jars() {
  for jar in "$sdk"/share/java/tornado/*.jar; do
    case "$(basename "$jar")" in
      log4j-*) ;;
      *) echo "$jar" ;;
    esac
  done
}

# The template with the SDK's path filled in and --module-path replaced by $1.
render() {
  sed -e "s#\${TORNADOVM_HOME}#$sdk#g" -e "s#^--module-path .*#--module-path $1#" "$template"
}

if $inline; then
  render "$(module_jars | paste -sd:)" | sed -e 's/[[:space:]]*$//' -e '/^#/d' -e '/^$/d'
  exit 0
fi

argfile="$2" modules="$3"
mkdir -p "$(dirname "$argfile")" "$(dirname "$modules")"
# Built beside the target and renamed into place, so a JVM starting meanwhile never sees a half-made folder.
staged="$(mktemp -d "$modules.XXXXXX")"
chmod 755 "$staged"
module_jars | while IFS= read -r jar; do ln -s "$jar" "$staged/"; done
rm -rf "$modules"
mv "$staged" "$modules"

tmp="$(mktemp "$argfile.XXXXXX")"
{
  echo "# Rendered by tornado-kernels/tornado-argfile.sh for TORNADOVM_HOME=$sdk"
  render "$modules"
} > "$tmp"
chmod 644 "$tmp"
mv "$tmp" "$argfile"
