#!/usr/bin/env bash
# Builds libsodium for the browser: libsodium's source from Debian's source package, compiled to a
# WebAssembly reactor module with the Swift toolchain's clang and wasm-ld, Debian's wasi-libc and
# the wasm32 compiler-rt builtins. Output: Sources/HavenWeb/Public/sodium.wasm (not committed).
# Idempotent: does nothing if the module is newer than this script and its list of exports.
set -euo pipefail
cd "$(dirname "$0")/.."

out="Sources/HavenWeb/Public/sodium.wasm"
work=".build-wasm"
if [ -f "$out" ] && [ "$out" -nt "$0" ] && [ "$out" -nt Sources/HavenWeb/sodium-exports.txt ]; then
    echo "sodium-wasm: $out is up to date"
    exit 0
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian's source packages need a deb-src entry; add one beside the binary sources if missing.
if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
    echo "sodium-wasm: enabling Debian source packages"
    as_root tee /etc/apt/sources.list.d/haven-sources.sources >/dev/null <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    as_root apt-get update -qq
fi
missing=()
for package in wasi-libc libclang-rt-14-dev-wasm32 dpkg-dev autoconf automake libtool; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "sodium-wasm: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

rm -rf "$work" && mkdir -p "$work"
(cd "$work" && apt-get source -qq libsodium >/dev/null 2>&1)
source_dir=$(find "$work" -maxdepth 1 -type d -name 'libsodium-*' | head -n 1)
[ -n "$source_dir" ] || { echo "sodium-wasm: apt-get source libsodium failed" >&2; exit 1; }

# A sysroot laid out the way clang's wasm32-wasi target expects, from Debian's wasi-libc.
sysroot="$PWD/$work/sysroot"
mkdir -p "$sysroot/include" "$sysroot/lib"
cp -r /usr/include/wasm32-wasi "$sysroot/include/wasm32-wasi"
cp -r /usr/lib/wasm32-wasi "$sysroot/lib/wasm32-wasi"
# clang 21 looks for the builtins under its resource dir as lib/wasi/libclang_rt.builtins-wasm32.a.
resource="$PWD/$work/resource"
cp -r "$(/opt/swift/usr/bin/clang -print-resource-dir)" "$resource"
mkdir -p "$resource/lib/wasi"
cp "$(find /usr/lib/llvm-14 -name 'libclang_rt.builtins-wasm32.a' | head -n 1)" "$resource/lib/wasi/libclang_rt.builtins-wasm32.a"

clang="$(command -v clang || echo /opt/swift/usr/bin/clang)"
flags="--target=wasm32-wasi --sysroot=$sysroot -resource-dir=$resource -O2 -D_WASI_EMULATED_SIGNAL"
(
    cd "$source_dir"
    # Debian's source is the upstream git tree: generate configure first.
    [ -x configure ] || ./autogen.sh -s >/dev/null 2>&1
    CC="$clang" CFLAGS="$flags" LDFLAGS="$flags" AR=/usr/bin/ar RANLIB=/usr/bin/ranlib \
        ./configure --host=wasm32-wasi --enable-minimal --without-pthreads --disable-asm --disable-ssp \
        --disable-shared --enable-static --prefix="$PWD/install" >/dev/null
    make -j2 >/dev/null
    make install >/dev/null
)
exports=$(tr '\n' ',' < Sources/HavenWeb/sodium-exports.txt | sed 's/,$//')
mkdir -p "$(dirname "$out")"
"$clang" $flags -mexec-model=reactor -nostartfiles -Wl,--no-entry -Wl,--export-dynamic \
    $(printf -- '-Wl,--export=%s ' $(cat Sources/HavenWeb/sodium-exports.txt)) \
    -o "$out" "$source_dir/install/lib/libsodium.a" -lwasi-emulated-signal
echo "sodium-wasm: built $out ($(stat -c %s "$out") bytes, ${exports//,/ })" | cut -c1-200
