#!/usr/bin/env bash
# Builds the Debian package: bash Scripts/package.sh [OUTPUT_FOLDER]  (default ./dist)
# The `haven` binary (release, the Swift runtime linked in, so the package needs only Debian's
# libraries), the widget with its WebAssembly crypto under /usr/share/haven/web, the example
# configuration /etc/haven/haven.toml, the hardened systemd units, and the docs. dpkg-deb only.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"

bash Scripts/bootstrap.sh
bash Scripts/build-sodium-wasm.sh
echo "package: building haven (release, Swift runtime linked in)"
start=$(date +%s)
swift build -c release --product haven --static-swift-stdlib --scratch-path .build-release
echo "package: build took $(( $(date +%s) - start )) s"
binary=".build-release/release/haven"

version="$("$binary" --version | awk '{print $2}')"
arch="$(dpkg --print-architecture)"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
# mktemp makes it 0700: the archive's top folder stands for /.
chmod 0755 "$root"

install -D -m 0755 "$binary" "$root/usr/bin/haven"
strip --strip-unneeded "$root/usr/bin/haven"
install -d -m 0755 "$root/usr/share/haven/web"
cp -r Sources/HavenWeb/Public/. "$root/usr/share/haven/web/"
find "$root/usr/share/haven/web" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
install -D -m 0640 Scripts/debian/haven.toml "$root/etc/haven/haven.toml"
for unit in haven.service haven-backup.service haven-backup.timer; do
    install -D -m 0644 "Scripts/debian/$unit" "$root/lib/systemd/system/$unit"
done
for doc in README.md docs/operations.md docs/protocol.md docs/crypto.md docs/threat-model.md docs/haven.example.toml; do
    install -D -m 0644 "$doc" "$root/usr/share/doc/haven/$(basename "$doc")"
done
for example in Caddyfile nginx.conf haven.toml; do
    install -D -m 0644 "Scripts/debian/$example" "$root/usr/share/doc/haven/examples/$example"
done

install -d -m 0755 "$root/DEBIAN"
size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" Scripts/debian/control > "$root/DEBIAN/control"
install -m 0644 Scripts/debian/conffiles "$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do install -m 0755 "Scripts/debian/$script" "$root/DEBIAN/$script"; done

mkdir -p "$out"
package="$out/haven_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$package" >/dev/null
echo "package: $package ($(du -h "$package" | cut -f1))"
