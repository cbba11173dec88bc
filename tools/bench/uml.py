#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the FNMM-BENCH lines of UML benchmark logs (kunit/bench.c), one
log per boot, into Markdown tables, TSV data and gnuplot plots in a
results directory.  A cost is the median over the boots of each boot's
median of 9 rounds, with the lowest min and the highest p90 of any boot.

    uml.py RESULTS_DIR TEST_LOG...
"""
import os
import subprocess
import sys


def merge(boots):
    """One row per case, in the first boot's order, over every boot."""
    out = []
    for key in boots[0] if boots else []:
        runs = [b[key] for b in boots if key in b]
        what, ours, _, theirs = runs[0][:4]

        def med(i):
            v = sorted(float(r[i]) for r in runs)
            return v[len(v) // 2]
        ons, tns = med(2), med(4)
        r = {"what": what, "ours": ours, "theirs": theirs,
             "ons": "%.1f" % ons, "tns": "%.1f" % tns,
             "ratio": "%.3f" % (ons / tns) if tns else "0"}
        # min and p90 (fields 6-9); logs from before they were printed
        # have neither: the medians stand in.
        for name, i, fn in (("omin", 6, min), ("op90", 7, max),
                            ("tmin", 8, min), ("tp90", 9, max)):
            v = [float(r[i]) for r in runs if len(r) > i]
            r[name] = "%.1f" % fn(v) if v else r["ons" if name[0] == "o"
                                                 else "tns"]
        out.append(r)
    return out


def main():
    out, logs = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    boots = {"pair": [], "scale": []}
    frag = []
    for n, log in enumerate(logs):
        rows = {"pair": {}, "scale": {}}
        for line in open(log, errors="replace"):
            if "FNMM-BENCH\t" not in line:
                continue
            f = line.rstrip("\n").split("FNMM-BENCH\t", 1)[1].split("\t")
            if f[0] in rows:
                rows[f[0]][(f[1], f[2])] = f[1:]
            elif f[0] == "frag" and n == 0:
                frag.append(f[1:])	# the same trace every boot
        for k in rows:
            boots[k].append(rows[k])
    pairs, scale = merge(boots["pair"]), merge(boots["scale"])
    if not pairs or not frag:
        sys.exit("uml.py: no benchmark lines in " + " ".join(logs))

    md = ["### In-kernel allocator cost (UML, native code)", "",
          "ns per allocate+release pair (batches: that many live "
          "allocations, then all released): median over %d boots of each "
          "boot's median of 9 rounds, ours and the kernel's taking turns "
          "round by round; in brackets the lowest min and the highest p90 "
          "of any boot.  Ratio = ours / kernel's (medians), lower is "
          "better." % len(logs), "",
          "| case | ours | ns | kernel's | ns | ratio |",
          "|---|---|---:|---|---:|---:|"]
    for r in pairs:
        md.append(f"| {r['what']} | {r['ours']} | {r['ons']} ({r['omin']}-"
                  f"{r['op90']}) | {r['theirs']} | {r['tns']} ({r['tmin']}-"
                  f"{r['tp90']}) | {r['ratio']} |")

    md += ["", "### Scaling with region size and fill (UML)", "",
           "ns per single-chunk pair (Bit vs gen_pool) and order-0 pair "
           "(Split), by region size; \"packed\": the lowest part full (what "
           "first-fit converges to), \"scattered\": full 64-chunk groups "
           "spread by a hash.", "",
           "| region, fill | bit ns | gen_pool ns | bit/gen_pool | split ns |",
           "|---|---:|---:|---:|---:|"]
    rows = {}
    for m in scale:
        key = m["what"].rsplit(",", 1)[0]
        r = rows.setdefault(key, {})
        if m["ours"] == "bit":
            r["bit"], r["gp"], r["ratio"] = m["ons"], m["tns"], m["ratio"]
        else:
            r["split"] = m["ons"]
    with open(os.path.join(out, "scale.tsv"), "w") as t:
        t.write("#region_mib\tfill\tlayout\tbit_ns\tgen_pool_ns\tsplit_ns\n")
        for key, r in rows.items():
            md.append(f"| {key} | {r.get('bit')} | {r.get('gp')} | "
                      f"{r.get('ratio')} | {r.get('split')} |")
            mib, rest = key.split(" MiB, ")
            fill, layout = rest.split("% ")
            t.write(f"{mib}\t{fill}\t{layout}\t{r.get('bit')}\t"
                    f"{r.get('gp')}\t{r.get('split')}\n")

    # frag rows: seed, "N phase", allocator, live, free, largest, failed, pm
    seeds = sorted({int(r[0]) for r in frag})
    md += ["", "### Fragmentation: %d seeded traces, 256 MiB each (UML)"
           % len(seeds), "",
           "After each phase: failed requests so far and the largest "
           "allocatable block in pages (ours: fnmm_largest(); gen_pool: "
           "found by trying), median (min-max) over the seeds; then how "
           "many seeds ours failed no more requests than gen_pool and kept "
           "a largest block at least as large.  Phase 3 frees every other "
           "allocation by address.  split and bit are as the device makes "
           "them (per-CPU magazines); split-exact and bit-exact are made "
           "with FNMM_NO_PERCPU (module parameter percpu=0): no magazines, "
           "every request placed by the rule under the lock.", "",
           "| phase | allocator | failed | largest pages | "
           "failed <= gen_pool | largest >= gen_pool |",
           "|---|---|---:|---:|---:|---:|"]
    by = {}
    for seed, phase, name, live, free, largest, failed, pm in frag:
        by.setdefault((phase, name), {})[int(seed)] = (int(failed),
                                                      int(largest))

    def mm(v):
        v = sorted(v)
        return "%d (%d-%d)" % (v[len(v) // 2], v[0], v[-1])
    phases = []
    for r in frag:
        if r[1] not in phases:
            phases.append(r[1])
    for phase in phases:
        gp = by.get((phase, "gen_pool"), {})
        for name in ("split", "bit", "split-exact", "bit-exact",
                     "gen_pool"):
            d = by.get((phase, name))
            if not d:
                continue
            f = [d[k][0] for k in sorted(d)]
            lg = [d[k][1] for k in sorted(d)]
            if name == "gen_pool":
                le = ge = ""
            else:
                le = "%d / %d" % (sum(d[k][0] <= gp[k][0] for k in d
                                      if k in gp), len(d))
                ge = "%d / %d" % (sum(d[k][1] >= gp[k][1] for k in d
                                      if k in gp), len(d))
            md.append("| %s | %s | %s | %s | %s | %s |" %
                      (phase, name, mm(f), mm(lg), le, ge))
    md += ["", "Seed %d, every column:" % seeds[0], "",
           "| phase | allocator | live | free pages | largest pages | "
           "failed | ext. frag % |", "|---|---|---:|---:|---:|---:|---:|"]
    with open(os.path.join(out, "frag.tsv"), "w") as t:
        t.write("#phase\tallocator\tlive\tfree\tlargest\tfailed\tfrag_pct\n")
        for row in frag:
            if int(row[0]) != seeds[0]:
                continue
            md.append("| " + " | ".join(row[1:]) + " |")
            t.write("\t".join([row[1].split()[0]] + row[2:]) + "\n")
    with open(os.path.join(out, "pairs.tsv"), "w") as t:
        t.write("#case\tours\tours_ns\tkernel\tkernel_ns\tratio\n")
        for r in pairs:
            t.write("\t".join(r[k] for k in ("what", "ours", "ons", "theirs",
                                             "tns", "ratio")) + "\n")
    text = "\n".join(md) + "\n"
    open(os.path.join(out, "uml.md"), "w").write(text)
    sys.stdout.write(text)
    plot(out)


def plot(out):
    gp = """
set terminal pngcairo size 900,520 noenhanced
set datafile separator "\\t"
set key left top
set logscale xy
set xlabel "region (MiB)"
set ylabel "ns per allocate+release"
set output "{o}/scale-region.png"
set title "Cost vs region size at 90 % fill (UML)"
plot "< grep -P '\\t90\\tpacked' {o}/scale.tsv" using 1:4 w lp t "bit (packed)", \\
     "" using 1:5 w lp t "gen_pool (packed)", \\
     "" using 1:6 w lp t "split (packed)", \\
     "< grep -P '\\t90\\tscattered' {o}/scale.tsv" using 1:4 w lp t "bit (scattered)", \\
     "" using 1:5 w lp t "gen_pool (scattered)"
set output "{o}/scale-fill.png"
set title "Cost vs fill, 4 GiB region, packed (UML)"
unset logscale x
set xlabel "fill (%)"
plot "< grep -P '^4096\\t.*\\tpacked' {o}/scale.tsv" using 2:4 w lp t "bit", \\
     "" using 2:5 w lp t "gen_pool", "" using 2:6 w lp t "split"
set output "{o}/frag.png"
set title "Largest allocatable block after each phase (pages)"
unset logscale
set logscale y
set xlabel "phase"
set ylabel "largest block (pages)"
set style data linespoints
plot "< grep -P '\\tsplit\\t' {o}/frag.tsv" using 1:5 t "split", \\
     "< grep -P '\\tbit\\t' {o}/frag.tsv" using 1:5 t "bit", \\
     "< grep -P '\\tgen_pool\\t' {o}/frag.tsv" using 1:5 t "gen_pool"
""".format(o=out)
    try:
        subprocess.run(["gnuplot"], input=gp, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"uml.py: no plots ({e})", file=sys.stderr)


if __name__ == "__main__":
    main()
