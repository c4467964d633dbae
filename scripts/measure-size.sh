#!/bin/sh
# Prints what the release binary of one target is made of, so that each
# feature comes with its price:
#   scripts/measure-size.sh [TRIPLE]     (default aarch64-unknown-linux-gnu)
# It builds the target with scripts/build-deb.sh (incremental: seconds when
# nothing changed), then reads the copy with symbols that build-deb.sh keeps
# beside the stripped binary (target/<TRIPLE>/release/mt-trafmon.with-symbols;
# the same link, before `objcopy --strip-all`) and prints:
#   - the stripped size, and the size of each section in the file;
#   - the bytes of every symbol (functions, tables, vtables), summed per
#     crate, and per module for mt-trafmon's own code (mt_trafmon::web, …).
# Attribution: a symbol counts for the crate its path starts with; for a
# method of an impl (`<A as B>::f`) that is the crate of the type A, and
# drop glue (`core::ptr::drop_in_place<A>`) counts for A's crate too.
# librrd's and the glib shim's functions are recognised by their names in
# the archives scripts/build-librrd.sh made. What no symbol covers (string
# literals and constants without a name, relocations, dynamic linking
# tables, headers, padding) is shown as one line. With LTO, generic code is
# counted where it was instantiated, and inlined code where it was inlined,
# so compare two builds' figures rather than read one as exact.
set -eu
cd "$(dirname "$0")/.."

triple=${1:-aarch64-unknown-linux-gnu}
case "$triple" in
    x86_64-unknown-linux-gnu) tools="" ;;
    aarch64-unknown-linux-gnu) tools=aarch64-linux-gnu- ;;
    armv7-unknown-linux-gnueabihf) tools=arm-linux-gnueabihf- ;;
    *)
        echo "measure-size.sh: unsupported target $triple" >&2
        exit 2
        ;;
esac

sh scripts/build-deb.sh "$triple" >&2
binary=target/$triple/release/mt-trafmon
symbols=$binary.with-symbols
lib=target/rrd-static/$triple/lib

printf '%s: %s B stripped\n\n' "$binary" "$(wc -c <"$binary")"

echo "Sections in the file (bytes):"
# Sections that take space in the stripped file: all but .bss/.tbss
# (NOBITS) and the symbol tables that stripping removes.
"${tools}readelf" -SW "$binary" | sed -n 's/^ *\[ *[0-9]*\] //p' |
    while read -r name type _addr _off size _rest; do
        [ "$type" = NOBITS ] || [ "$name" = NULL ] && continue
        printf '%10d  %s\n' "$((0x$size))" "$name"
    done | sort -rn
echo

echo "Symbols by crate (bytes; mt_trafmon by module):"
{
    "${tools}nm" --defined-only "$lib/librrd.a" | awk 'NF == 3 { print "R", $3 }'
    "${tools}nm" --defined-only "$lib/libglibshim.a" | awk 'NF == 3 { print "S", $3 }'
    echo "--"
    "${tools}nm" --defined-only --size-sort -S -t d -C "$symbols"
} | awk -v total="$(wc -c <"$binary")" '
    # Strips references, pointers, tuple and array openings and leading
    # primitive members, so that what is left starts with a path.
    function bare(n) {
        while (match(n, /^(&|mut |\*const |\*mut |\[|\(|dyn |[a-z0-9_]+(, ?|; ))/))
            n = substr(n, RLENGTH + 1)
        return n
    }
    # The crate a demangled symbol counts for (see the header).
    function crate_of(n,    i, self, crate, module, part) {
        if (index(n, "core::ptr::drop_in_place<") == 1) n = substr(n, 26)
        while (substr(n, 1, 1) == "<") {
            n = substr(n, 2)
            i = index(n, " as ")
            if (!i) break
            self = bare(substr(n, 1, i - 1))
            # A generic or primitive type has no crate: then the trait.
            n = (index(self, "::") || substr(self, 1, 1) == "<") ? self : substr(n, i + 4)
        }
        n = bare(n)
        if (index(n, "::") == 0) {
            if (n in rrd) return "librrd (C)"
            if (n in shim) return "glib shim (C)"
            return "(no path: C runtime, compiler builtins, linker)"
        }
        split(n, part, "::")
        crate = part[1]
        sub(/<.*/, "", crate)
        if (crate != "mt_trafmon") return crate
        module = part[2]
        sub(/<.*/, "", module)
        return crate "::" module
    }
    $0 == "--" { symbols = 1; next }
    !symbols { if ($1 == "R") rrd[$2] = 1; else shim[$2] = 1; next }
    {
        name = $0
        sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
        bytes[crate_of(name)] += $2
        sum += $2
    }
    END {
        for (crate in bytes) printf "%10d  %s\n", bytes[crate], crate | "sort -rn"
        close("sort -rn")
        printf "%10d  all symbols\n", sum
        printf "%10d  not covered by a symbol (literals, relocations, tables, headers, padding)\n", total - sum
    }'
