# The targets of issue 13, each with this run's figures and met / not met, as a Markdown table, from the
# run's own files: awk -F'\t' -v small='DAYS x ROWS' -f targets.awk results.tsv steps.tsv commands.tsv
# small: the size of the small shape (365 x 1 000), empty when it did not run; every other size is the big
# shape (30 x 100 000). Each target is a limit on a figure of one or more runs; a target is met when every
# run it applies to meets it. Where it applies to at most 4 runs, all are shown; else the worst of them.
FNR == 1 { file++; delete col; for (i = 1; i <= NF; i++) col[$i] = i; next }
function v(f) { return (f in col) ? $(col[f]) : "" }
function num(x) { return x != "" && x != "-" && x ~ /^-?[0-9.]+$/ }
function size() { return v("days") "×" v("rows_per_day") }
function shape() { return size() == small2 ? "small" : "big" }
function run(id) { return "PG" v("server") " " id " " size() }
# add(target, run label, value as shown, value, limit): one run's figure against the target's limit
function add(t, label, shown, x, limit) {
    n[t]++
    if (x <= limit) met[t]++
    if (n[t] == 1 || x / limit > worst[t]) { worst[t] = x / limit; worstText[t] = label ": " shown }
    all[t] = all[t] (all[t] == "" ? "" : "; ") label ": " shown
}
BEGIN { small2 = small; gsub(/ x /, "×", small2) }
# results.tsv: walls, WAL, disk, the application
file == 1 {
    key = v("server") "|" size(); id = v("id")
    if (!(key in seenKey)) { seenKey[key] = 1; keys[++nk] = key }
    wall[key, id] = v("wall_s"); wal[key, id] = v("wal_mb")
    if (id == "A2") wallA2[key] = v("wall_s")
    if (id ~ /^[DK][12]$/) {
        if (shape() == "big") {
            big[key] = 1; bigId[key, id] = 1
            peak[key, id] = v("peak_db_mb"); part[key] = v("partition_mb")
        }
        if (num(v("insert_max_ms")))
            add("stall", run(id), sprintf("%.2f s (swap lock wait max %s ms + hold max %s ms)", v("insert_max_ms") / 1000,
                v("lock_wait_max_ms") == "" ? "-" : v("lock_wait_max_ms"), v("lock_hold_max_ms")), v("insert_max_ms") / 1000, 0.3)
        add("errors", run(id), v("app_errors") + 0, v("app_errors") == "" || v("app_errors") < 0 ? 1e9 : v("app_errors"), 0)
        add("check", run(id), v("check"), v("check") == "ok" ? 0 : 1, 0)
        if (shape() == "small") smallKey[key] = 1
    }
    next
}
# steps.tsv: phases and per-partition costs of the pgrewrite runs
file == 2 {
    id = v("id")
    if (shape() == "big" && num(v("copy_s")) && v("copy_s") > 0 && num(v("verify_s")))
        add("verify", run(id), sprintf("%.0f %% (verify %.1f s, copy %.1f s)", 100 * v("verify_s") / v("copy_s"), v("verify_s"), v("copy_s")),
            v("verify_s") / v("copy_s"), 0.2)
    if (id ~ /1$/) {  # 1 worker: with 2, the worker steps share the two cores with each other
        # not measured (no partitioned step "rewrite"): counted as 0, shown as "-"
        between = num(v("between_steps_ms")) ? v("between_steps_ms") : 0; betweenShown = num(v("between_steps_ms")) ? between : "-"
        if (num(v("empty_partition_ms")))
            add("empty", run(id), sprintf("%.0f ms (worker step %s, max %s, + %s between steps; %s empty partitions)",
                v("empty_partition_ms") + between, v("empty_partition_ms"), v("empty_partition_max_ms"), betweenShown, v("empty_partitions")),
                v("empty_partition_ms") + between, 50)
        if (shape() == "small" && num(v("beyond_copy_ms")))
            add("small", run(id), sprintf("%.0f ms (worker step %s minus its copy phase, max %s, + %s between steps)",
                v("beyond_copy_ms") + between, v("partition_ms"), v("beyond_copy_max_ms"), betweenShown),
                v("beyond_copy_ms") + between, 100)
    }
    next
}
# commands.tsv: status and plan
file == 3 {
    c = v("command") == "plan" ? "plan" : "status"
    label = "PG" v("server") " `" v("command") "` after D1 " size()
    if (v("check") != "ok") add(c, label, v("check"), 1e9, 1.5)
    else add(c, label, sprintf("median %.2f s, max %.2f s of %s runs", v("median_s"), v("max_s"), v("runs")), v("median_s"), 1.5)
    next
}
# The blocking ALTER's wall time as the ratios' base: the mean of A and A2 (the same ALTER again, after the others)
# where both ran, shown with both.
function baseA(key) {
    if (!(key in wallA2) || !(wall[key, "A"] > 0)) { baseText = wall[key, "A"] " s"; return wall[key, "A"] }
    baseText = sprintf("%.2f s: the ALTER %s s first, %s s last", (wall[key, "A"] + wallA2[key]) / 2, wall[key, "A"], wallA2[key])
    return (wall[key, "A"] + wallA2[key]) / 2
}
END {
    for (k = 1; k <= nk; k++) {
        key = keys[k]
        if (key in smallKey || key in big) { a = baseA(key); wall[key, "A"] = a; aText[key] = baseText }
    }
    for (k = 1; k <= nk; k++) {
        key = keys[k]
        if (!(key in big)) continue
        split(key, kv, "|"); label = "PG" kv[1] " " kv[2]
        if (wall[key, "A"] > 0) {
            if ((key, "D2") in wall) add("d2", label, sprintf("%.2f (%s s / %s)", wall[key, "D2"] / wall[key, "A"], wall[key, "D2"], aText[key]), wall[key, "D2"] / wall[key, "A"], 1.0)
            if ((key, "D1") in wall) add("d1", label, sprintf("%.2f (%s s / %s)", wall[key, "D1"] / wall[key, "A"], wall[key, "D1"], aText[key]), wall[key, "D1"] / wall[key, "A"], 1.3)
        }
        if (wall[key, "RP"] > 0 && (key, "K2") in wall)
            add("k2", label, sprintf("%.2f (%s s / %s s)", wall[key, "K2"] / wall[key, "RP"], wall[key, "K2"], wall[key, "RP"]), wall[key, "K2"] / wall[key, "RP"], 0.6)
        for (w = 1; w <= 2; w++) if (wal[key, "A"] > 0 && (key, "D" w) in wal)
            add("wal", label " D" w, sprintf("%.2f (%s MB / %s MB)", wal[key, "D" w] / wal[key, "A"], wal[key, "D" w], wal[key, "A"]), wal[key, "D" w] / wal[key, "A"], 1.1)
        for (j = 1; j <= 4; j++) {
            id = substr("D1D2K1K2", 2 * j - 1, 2)
            if ((key, id) in bigId && part[key] > 0)
                add("disk", label " " id, sprintf("%.1f partitions (%s MB; largest partition %s MB)", peak[key, id] / part[key], peak[key, id], part[key]),
                    peak[key, id] / part[key], 2)
        }
    }
    for (k = 1; k <= nk; k++) {
        key = keys[k]
        if (!(key in smallKey)) continue
        split(key, kv, "|"); label = "PG" kv[1] " " kv[2]
        for (w = 1; w <= 2; w++) if (wall[key, "A"] > 0 && (key, "D" w) in wall)
            add("ratio365", label " D" w, sprintf("%.1f (%s s / %s)", wall[key, "D" w] / wall[key, "A"], wall[key, "D" w], aText[key]), wall[key, "D" w] / wall[key, "A"], 5)
    }
    print "| target (issue 13) | measured in this run | |"
    print "|---|---|---|"
    row("d1", "type change, big shape: 1 worker ≤ 1.3 × the blocking ALTER (wall)")
    row("d2", "type change, big shape: 2 workers ≤ 1.0 × the blocking ALTER (wall)")
    row("k2", "compact, big shape: 2 workers ≤ 0.6 × pg_repack per partition (wall)")
    row("wal", "type change, big shape: WAL ≤ 1.1 × the ALTER's")
    row("disk", "big shape: peak extra disk ≤ 2 partitions (database files; pg_wal, bounded by max_wal_size for every approach, is in the tables below)")
    row("stall", "app stall ≤ 0.3 s: the longest one insert waited, from when it was due (every pgrewrite run)")
    row("errors", "0 app errors (every pgrewrite run)")
    row("verify", "big shape: verification ≤ 20 % of the copy time (phases verify / copy, summed over partitions)")
    row("empty", "empty partition ≤ 50 ms fixed cost (1 worker: mean worker step + the mean time between worker steps)")
    row("small", "small partition ≤ 100 ms beyond the copy work (small shape, 1 worker: mean worker step minus its copy phase + the time between steps)")
    row("ratio365", "small shape (365 × 1 000 rows): ≤ 5 × the blocking ALTER (wall)")
    row("status", "`status` and `status ID` answer in ≤ 1.5 s (wall, JVM included; the median)")
    row("plan", "`plan` answers in ≤ 1.5 s (wall, JVM included; the median)")
    row("check", "(the benchmark's own check, not a target) every pgrewrite result right: new type, every row and value there")
}
function row(t, text) {
    if (!(t in n)) { printf "| %s | not run | - |\n", text; return }
    printf "| %s | %s | %s |\n", text, n[t] <= 4 ? all[t] : "worst of " n[t] " runs: " worstText[t],
        met[t] == n[t] ? "met" : "**not met**" (n[t] > 1 ? " (" (n[t] - met[t]) " of " n[t] ")" : "")
}
