#!/usr/bin/env bash
# Regenerates the TypeScript bindings of every .proto file in the tree with
# ts-proto (grpc-js services). With --check, regenerates into a temp dir and
# fails if the committed files differ: generated code must never be hand-edited.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
[ "${1:-}" = "--check" ] && check=1

command -v protoc >/dev/null || { echo "protoc is missing: run scripts/setup.sh (apt package protobuf-compiler)" >&2; exit 1; }

# Each entry: <proto dir> <output dir>
targets=(
  "cri/api cri/api/generated"
  "agent/api agent/api/generated"
  "probes/api probes/api/generated"
)

opts="outputServices=grpc-js,esModuleInterop=true,importSuffix=.js,useOptionals=messages,forceLong=bigint,env=node,useDate=false,oneof=unions-value,outputTypeRegistry=false,snakeToCamel=true,useExactTypes=false"

status=0
for t in "${targets[@]}"; do
  read -r src out <<<"$t"
  compgen -G "$src/*.proto" >/dev/null || continue
  dest="$out"
  if [ $check = 1 ]; then dest=$(mktemp -d); fi
  mkdir -p "$dest"
  protoc --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
    --ts_proto_out="$dest" --ts_proto_opt="$opts" -I "$src" "$src"/*.proto
  if [ $check = 1 ]; then
    if ! diff -r "$dest" "$out" >/dev/null 2>&1; then
      echo "generated code in $out is stale: run 'npm run gen' and commit the result" >&2
      diff -r "$dest" "$out" | head -20 >&2 || true
      status=1
    fi
    rm -rf "$dest"
  fi
done
exit $status
