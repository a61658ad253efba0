#!/usr/bin/env bash
# Makes a portable bundle of locallearn in target/dist/locallearn/ that runs on a Linux x86-64
# machine without a JDK (a GPU machine, say):
#   runtime/   a Java runtime cut down by jlink to the modules the jars use (found with jdeps)
#   lib/       locallearn.jar and its runtime dependencies (JCuda with its native driver binding, picocli,
#              Jackson core, Commons Compress with commons-io, -lang3 and -codec, protobuf)
#   bin/locallearn   runs the bundled java on them
#   check/     the project's GPU checks (../shared/device/gpu-check.sh, ../shared/bench/torch_ref.py) when present
# Usage: dist/make-dist.sh ROOT   (./locallearn dist builds the jar first, then calls this)
set -euo pipefail
root=$(cd "${1:?usage: dist/make-dist.sh PROJECT_ROOT}" && pwd)
limit_mib=60
jar=$root/target/locallearn.jar
[ -f "$jar" ] || { echo "dist: $jar is missing: build it first (./locallearn dist does)" >&2; exit 2; }
[ -d "$root/target/lib" ] || { echo "dist: $root/target/lib is missing: run mvn package first" >&2; exit 2; }
java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
for tool in jlink jdeps; do
  [ -x "$java_home/bin/$tool" ] || { echo "dist: $java_home/bin/$tool not found: a full JDK 25 is needed (set JAVA_HOME)" >&2; exit 2; }
done

out=$root/target/dist/locallearn
rm -rf "$out"
mkdir -p "$out/lib" "$out/bin"
cp "$jar" "$root"/target/lib/*.jar "$out/lib/"
# JCuda's natives jar carries its PTX-compiler binding (about 9 MiB packed) that the engine never
# loads (the driver JIT-compiles our PTX); each binding is loaded only by its own class, so the
# driver binding works without it
if command -v zip >/dev/null; then
  for n in "$out"/lib/jcuda-natives-*.jar; do [ -f "$n" ] && zip -q -d "$n" 'lib/libJNvPTXCompiler*' >/dev/null || true; done
fi

# The modules the code really uses, plus the Vector API (added at run time with --add-modules,
# which jdeps cannot see) and jdk.unsupported (JCuda's loader and picocli may reach for it).
# locallearn.jar is a module: its "requires" resolve on the module path (the jars' own descriptors or automatic names)
deps=$("$java_home/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 25 \
        --module-path "$out/lib" "$out"/lib/*.jar 2>/dev/null | tail -1 || true)
[[ "$deps" =~ ^[a-z.]+(,[a-z.]+)*$ ]] || { echo "dist: jdeps gave no module list ('$deps'); using java.base,java.logging" >&2; deps=java.base,java.logging; }
# java.desktop is left out: only the PNG and JPEG reading (javax.imageio) of predict and of an image
# folder's one-time decoding into its cache uses it, besides the
# java.beans listeners of Commons Compress' Pack200 and commons-lang3's circuit breakers, which the
# tar reader never loads (the jars run on the class path, so their descriptors' "requires" do not
# count); it would add 19 MiB (measured with jlink, zip-6), taking the 54 MiB bundle past its 60 MiB
# limit, and the bundle's predict and train --dataset folder say so in one line
modules=$(echo "$deps,jdk.incubator.vector,jdk.unsupported" | tr ',' '\n' | grep -vx java.desktop | sort -u | paste -sd, -)
"$java_home/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --compress=zip-6 \
    --output "$out/runtime"

# The jar's manifest class path expects lib/ beside it; the bundle keeps every jar in one folder
# and names them on the class path instead.
cat > "$out/bin/locallearn" <<'SH'
#!/bin/sh
# locallearn from a portable bundle: the bundled Java runtime, no JDK needed.
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
exec "$here/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -XX:+UseParallelGC $LOCALLEARN_JAVA_OPTS -cp "$here/lib/*" locallearn.cli.Main "$@"
SH
chmod +x "$out/bin/locallearn"

mkdir -p "$out/check"
for f in device/gpu-check.sh bench/torch_ref.py; do
  for s in "$root/../shared/$f" "$root/shared/$f"; do
    if [ -f "$s" ]; then cp "$s" "$out/check/"; break; fi
  done
done
[ -n "$(ls -A "$out/check")" ] || rmdir "$out/check"

bytes=$(du -sb "$out" | cut -f1)
mib=$(( (bytes + 1048575) / 1048576 ))
echo "dist: $out ($mib MiB; runtime modules: $modules)"
if [ "$bytes" -gt $(( limit_mib * 1048576 )) ]; then
  echo "dist: bundle is $mib MiB, over the $limit_mib MiB limit" >&2
  exit 1
fi
