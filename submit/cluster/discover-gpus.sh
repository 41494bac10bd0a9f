#!/usr/bin/env bash
# Spark's GPU discovery script: prints the GPUs this executor (or standalone worker) may use as Spark's resource
# JSON, e.g. {"name":"gpu","addresses":["0","1"]}, from `nvidia-smi --query-gpu=index --format=csv,noheader`.
# Set it as spark.executor.resource.gpu.discoveryScript (YARN, Kubernetes) or spark.worker.resource.gpu.discoveryScript
# (standalone workers). Under YARN or Kubernetes with GPU isolation, nvidia-smi lists only the container's GPUs.
# No GPU (an empty list, or nvidia-smi's "No devices were found") prints an empty address list; a missing or
# failing nvidia-smi is an error (message on stderr, exit 1), so Spark stops the executor with that reason instead
# of scheduling tasks on a machine without a usable driver.
# Nothing to edit; NVIDIA_SMI names another nvidia-smi binary.
set -euo pipefail
nvidia_smi="${NVIDIA_SMI:-nvidia-smi}"
if ! command -v "$nvidia_smi" >/dev/null 2>&1; then
  echo "discover-gpus: $nvidia_smi not found on PATH ($PATH): no NVIDIA driver on $(hostname)?" >&2
  exit 1
fi
errors="$(mktemp)"
trap 'rm -f "$errors"' EXIT
status=0
indices="$("$nvidia_smi" --query-gpu=index --format=csv,noheader 2>"$errors")" || status=$?
# A driver without GPUs (none installed, or none visible in this container) exits 6 with this message.
if [[ $status -eq 6 && "$indices$(cat "$errors")" == *"No devices were found"* ]]; then
  indices=""
elif [[ $status -ne 0 ]]; then
  echo "discover-gpus: $nvidia_smi --query-gpu=index failed (exit $status) on $(hostname): $indices $(cat "$errors")" >&2
  exit 1
fi
addresses=""
while IFS= read -r line; do
  index="${line//[[:space:]]/}"
  [[ -z "$index" ]] && continue
  if [[ ! "$index" =~ ^[0-9]+$ ]]; then
    echo "discover-gpus: unexpected line from $nvidia_smi: '$line' (expected a GPU index)" >&2
    exit 1
  fi
  addresses+="${addresses:+,}\"$index\""
done <<< "$indices"
echo "{\"name\":\"gpu\",\"addresses\":[$addresses]}"
