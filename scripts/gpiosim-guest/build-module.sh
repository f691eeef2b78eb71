#!/usr/bin/env bash
# build-module.sh KVER SOURCE_TARBALL OUT.ko — build gpio-sim (with irq_sim folded in) as
# one out-of-tree module for Debian's kernel KVER, which ships neither (CONFIG_GPIO_SIM and
# CONFIG_IRQ_SIM are unset).
#
# Sources come from linux-source-<series> of exactly the kernel's package version;
# the build uses /lib/modules/KVER/build (linux-headers-KVER). One change: irq_sim.c calls
# handle_simple_irq(irq_to_desc(irq)), and irq_to_desc is not exported to modules, so it
# calls generic_handle_irq(irq) instead (same effect: look up the descriptor, run its
# flow handler, which irq_sim sets to handle_simple_irq).
set -euo pipefail

kver=$1
tarball=$2
out=$3

[ -r "$tarball" ] || { echo "build-module.sh: no $tarball" >&2; exit 1; }
[ -d "/lib/modules/$kver/build" ] || { echo "build-module.sh: no /lib/modules/$kver/build (linux-headers-$kver)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gpiosim-module.XXXXXX")
trap 'rm -rf "$work"' EXIT

top=$(basename "$tarball" .tar.xz) # linux-source-6.1
tar -xJf "$tarball" -C "$work" \
	"$top/drivers/gpio/gpio-sim.c" \
	"$top/drivers/gpio/gpiolib.h" \
	"$top/kernel/irq/irq_sim.c"

m="$work/mod"
mkdir -p "$m"
# gpio-sim.c includes the private "gpiolib.h"; keep it beside the source.
cp "$work/$top/drivers/gpio/gpiolib.h" "$m/"
# The module is named gpio-sim (so `modprobe gpio-sim` habits hold); its objects can't share
# that name, so the driver source is renamed.
cp "$work/$top/drivers/gpio/gpio-sim.c" "$m/gpio-sim-main.c"
sed 's/handle_simple_irq(irq_to_desc(\([a-z_]*\)))/generic_handle_irq(\1)/' \
	"$work/$top/kernel/irq/irq_sim.c" >"$m/irq_sim.c"
if grep -q irq_to_desc "$m/irq_sim.c"; then
	echo "build-module.sh: irq_sim.c still calls irq_to_desc; the patch no longer applies" >&2
	exit 1
fi
cat >"$m/Kbuild" <<'EOF'
obj-m := gpio-sim.o
gpio-sim-y := gpio-sim-main.o irq_sim.o
EOF

make -s -C "/lib/modules/$kver/build" M="$m" modules
# Exported-symbol check: everything the module needs must come from the kernel or configfs.
if modinfo -F depends "$m/gpio-sim.ko" | tr ',' '\n' | grep -v -x -e configfs -e '' >/dev/null; then
	echo "build-module.sh: unexpected module dependencies: $(modinfo -F depends "$m/gpio-sim.ko")" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$m/gpio-sim.ko" "$out.tmp"
mv "$out.tmp" "$out"
echo "build-module.sh: built $out ($(stat -c %s "$out") bytes, vermagic $(modinfo -F vermagic "$out"))"
