# Markdown tables from bench/results/results.tsv (awk -F'\t'): one section per table size (days and
# rows a day: the two shapes, e.g. 30 x 100 000 and 365 x 1 000, are two sizes), a table
# per operation with one row per approach and server (PostgreSQL 15 and 18 of one approach next to
# each other; × A and × pg_repack against the same server's run), then time and peak disk against
# table size when more than one size ran.
# Fields are found by the names in the header line (server, days, rows_per_day, table_mb, operation,
# id, approach, wall_s, peak_extra_mb, peak_db_mb, peak_wal_mb, wal_mb, final_mb, app_errors,
# write_gap_ms, insert_p50/p99/max_ms, day_read_p99/max_ms, count_max_ms, lock_hold_max/p99_ms, check,
# lock_wait_max_ms); the application's stall is insert_max_ms: the longest one insert waited, counted from
# when it was due;
# a file from before the server column was added counts as PostgreSQL 15, the only server it could run.
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
    n++
    for (i = 1; i <= NF; i++) f[n, i] = $i
    srv = ("server" in col) ? v(n, "server") : "15"
    size = v(n, "days") " x " v(n, "rows_per_day")
    id = v(n, "id")
    if (!(size in seenSize)) { seenSize[size] = 1; sizes[++ns] = size }
    if (!(srv in seenServer)) { seenServer[srv] = 1; servers[++nv] = srv }
    if (!(id in seenId)) { seenId[id] = 1; ids[++ni] = id; name[id] = v(n, "approach"); op[id] = v(n, "operation") }
    row[size, srv, id] = n
    if (!((size, srv) in tableMb)) tableMb[size, srv] = v(n, "table_mb")
    if (id == "A") wallA1[size, srv] = v(n, "wall_s")
    if (id == "A2") wallA2[size, srv] = v(n, "wall_s")
    if (id == "RP") wallRP[size, srv] = v(n, "wall_s")
}
# × A is against the blocking ALTER's wall time: the mean of its two runs (A first, A2 after the others) where both ran.
function baseA(d, sv) { return ((d, sv) in wallA2) ? (wallA1[d, sv] + wallA2[d, sv]) / 2 : wallA1[d, sv] }
function drift(d, operation,    k, sv, out) {  # a line on A's two runs, when A2 ran
    if (operation != "type") return
    out = ""
    for (k = 1; k <= nv; k++) {
        sv = servers[k]
        if (!((d, sv) in wallA2) || !((d, sv) in wallA1)) continue
        out = out (out == "" ? "" : "; ") sprintf("PostgreSQL %s: %.2f s first, %.2f s last (%+.0f %%)", sv, wallA1[d, sv], wallA2[d, sv],
            100 * (wallA2[d, sv] - wallA1[d, sv]) / wallA1[d, sv])
    }
    if (out != "") printf "\nThe blocking ALTER ran first and again after the others, on the same data: %s. × A is against the mean of the two.\n", out
}
function v(r, field) { return (field in col) ? f[r, col[field]] : "" }
function ratio(x, base) { return (base > 0 && x != "") ? sprintf("%.2f", x / base) : "-" }
function s(ms) { return (ms == "-" || ms == "" || ms < 0) ? "-" : sprintf("%.2f", ms / 1000) }
function ms(x) { return (x == "-" || x == "") ? "-" : sprintf("%.0f", x) }
function table(d, operation,    j, k, r, hdr, sv) {
    hdr = "| approach | PostgreSQL | wall s | × A |" (operation == "compact" ? " × pg_repack |" : "") \
          " peak extra MB (db / pg_wal) | peak % of table | WAL MB | final MB | app errors | **app stall s** (longest insert wait) | swap lock wait max ms | swap lock hold max / p99 ms | longest write gap s | insert p50 / p99 ms | day read p99 / max ms | count(*) max s | check |"
    print hdr
    gsub(/[^|]+/, "---", hdr); print hdr
    for (j = 1; j <= ni; j++) {
        if (op[ids[j]] != operation) continue
        for (k = 1; k <= nv; k++) {
            sv = servers[k]
            if (!((d, sv, ids[j]) in row)) continue
            r = row[d, sv, ids[j]]
            printf "| %s | %s | %.1f | %s |", v(r, "approach"), sv, v(r, "wall_s"), ratio(v(r, "wall_s"), baseA(d, sv))
            if (operation == "compact") printf " %s |", ratio(v(r, "wall_s"), wallRP[d, sv])
            printf " %s (%s / %s) | %.0f %% | %s | %s | %s | %s | %s | %s / %s | %s | %s / %s | %s / %s | %s | %s |\n",
                v(r, "peak_extra_mb"), v(r, "peak_db_mb"), v(r, "peak_wal_mb"), 100 * v(r, "peak_extra_mb") / v(r, "table_mb"),
                v(r, "wal_mb"), v(r, "final_mb"), v(r, "app_errors"), s(v(r, "insert_max_ms")),
                (v(r, "lock_wait_max_ms") == "" ? "-" : v(r, "lock_wait_max_ms")), v(r, "lock_hold_max_ms"), v(r, "lock_hold_p99_ms"),
                s(v(r, "write_gap_ms")), ms(v(r, "insert_p50_ms")), ms(v(r, "insert_p99_ms")),
                ms(v(r, "day_read_p99_ms")), ms(v(r, "day_read_max_ms")), s(v(r, "count_max_ms")), v(r, "check")
        }
    }
}
function ran(d, operation,    j, k) {  # whether any approach of this operation ran on this size
    for (j = 1; j <= ni; j++) if (op[ids[j]] == operation) for (k = 1; k <= nv; k++) if ((d, servers[k], ids[j]) in row) return 1
    return 0
}
function sizeOf(d,    k, out, first, same) {  # "7 MB", or "7 MB on PostgreSQL 15, 8 MB on 18" when they differ
    same = 1; first = ""
    for (k = 1; k <= nv; k++) if ((d, servers[k]) in tableMb) {
        if (first == "") first = tableMb[d, servers[k]]
        else if (tableMb[d, servers[k]] != first) same = 0
    }
    if (same) return first " MB"
    out = ""
    for (k = 1; k <= nv; k++) if ((d, servers[k]) in tableMb)
        out = out (out == "" ? "" : ", ") tableMb[d, servers[k]] " MB on " (out == "" ? "PostgreSQL " : "") servers[k]
    return out
}
END {
    for (k = 1; k <= ns; k++) {
        d = sizes[k]
        split(d, dr, " x ")
        printf "\n## %s days × %s rows a day (table with indexes: %s)\n\n", dr[1], dr[2], sizeOf(d)
        if (ran(d, "type")) { print "### Type change: `massa_ledig_voertuig` smallint → integer\n"; table(d, "type"); drift(d, "type") }
        if (ran(d, "type") && ran(d, "compact")) print ""
        if (ran(d, "compact")) { print "### Compact: rewrite every partition as it is\n"; table(d, "compact") }
    }
    if (ns < 2) exit
    print "\n## Scale: wall s / peak extra disk % of the table, by table size\n"
    printf "| approach | PostgreSQL |"; for (k = 1; k <= ns; k++) printf " %s days × rows |", sizes[k]; print ""
    printf "|---|---|"; for (k = 1; k <= ns; k++) printf "---|"; print ""
    for (j = 1; j <= ni; j++) {
        for (m = 1; m <= nv; m++) {
            sv = servers[m]
            any = 0
            for (k = 1; k <= ns; k++) if ((sizes[k], sv, ids[j]) in row) any = 1
            if (!any) continue
            printf "| %s%s | %s |", (op[ids[j]] == "compact" ? "compact: " : ""), name[ids[j]], sv
            for (k = 1; k <= ns; k++) {
                if ((sizes[k], sv, ids[j]) in row) {
                    r = row[sizes[k], sv, ids[j]]
                    printf " %.1f s / %.0f %% |", v(r, "wall_s"), 100 * v(r, "peak_extra_mb") / v(r, "table_mb")
                }
                else printf " - |"
            }
            print ""
        }
    }
}
