package io.pgrewrite.copy;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.Partition;
import io.pgrewrite.plan.PartitionNames;
import io.pgrewrite.plan.Table;

/**
 * The rewritten table {@code P__rw}: created with the parent's columns (by name, in the parent's
 * order, without dropped columns) and P's storage parameters, no indexes. Before a copy starts or
 * resumes, this looks at the catalog and says where to continue.
 */
public final class CopyTarget {

    /**
     * LIKE the parent: its live columns, NOT NULLs, CHECKs (ATTACH requires them), defaults, storage
     * and compression. Nobody but pgrewrite sees this table until the swap, so no lock matters here.
     */
    static final String CREATE_RW = "CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
            + " INCLUDING STORAGE INCLUDING COMPRESSION)%s";

    static final String DROP_RW = "DROP TABLE IF EXISTS %s";

    static final String EXISTS = "SELECT to_regclass(?) IS NOT NULL";

    private final SqlRunner sql;
    private final LockRetry lockRetry;
    private final Capture capture;
    private final CopyPosition position;

    public CopyTarget(SqlRunner sql, LockRetry lockRetry, Capture capture, CopyPosition position) {
        this.sql = sql;
        this.lockRetry = lockRetry;
        this.capture = capture;
        this.position = position;
    }

    public boolean exists(String qualified) {
        return Boolean.TRUE.equals(sql.queryOne(EXISTS, Boolean.class, qualified));
    }

    /**
     * Makes sure capture is on and {@code P__rw} exists. Returns true when the working copy is new (the
     * copy starts at page 0), false when one exists already (the copy resumes where it stopped). A
     * working copy without its capture trigger missed changes: it is thrown away.
     */
    public boolean prepare(PartitionNames n, Table table, Partition p, Map<String, String> storage, String jobKey) {
        if (!sql.dryRun() && !capture.installed(n)) {
            drop(n);
            capture.install(n, table);
        }
        if (sql.dryRun() || !exists(n.qRw())) {
            lockRetry.run("create " + n.rw(), List.of(n.qParent()), t -> {
                sql.execute(String.format(CREATE_RW, n.qRw(), n.qParent(), with(p.reloptions(), storage)));
                if (!sql.dryRun()) {
                    position.reset(jobKey, p.name());
                    // Capture is on (above): from here on every change must reach the log; the swap checks it did.
                    new io.pgrewrite.job.PartitionState(sql.jdbc()).recordSource(jobKey, p.name(), n.qPartition(),
                            PartitionNames.CAPTURE_TRIGGER);
                }
                return null;
            });
            return true;
        }
        return false;
    }

    public void drop(PartitionNames n) {
        lockRetry.run("drop " + n.rw(), List.of(n.qRw()), t -> sql.execute(String.format(DROP_RW, n.qRw())));
    }

    /** P's storage parameters, overridden by the definition's {@code storage:}. */
    static String with(List<String> reloptions, Map<String, String> storage) {
        Map<String, String> opts = new TreeMap<>();
        for (String o : reloptions) {
            int eq = o.indexOf('=');
            opts.put(o.substring(0, eq), o.substring(eq + 1));
        }
        opts.putAll(storage);
        if (opts.isEmpty()) {
            return "";
        }
        StringBuilder b = new StringBuilder(" WITH (");
        opts.forEach((k, v) -> {
            // Parameter names are keywords (toast.fillfactor is namespace.name), not quotable identifiers:
            // accept only the shape they have.
            if (!k.matches("[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)?")) {
                throw new IllegalArgumentException("not a storage parameter name: " + k);
            }
            b.append(b.length() > 7 ? ", " : "").append(k).append(" = ")
                    .append(v.matches("[A-Za-z0-9_.]+") ? v : "'" + v.replace("'", "''") + "'");
        });
        return b.append(")").toString();
    }
}
