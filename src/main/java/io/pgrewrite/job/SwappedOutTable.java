package io.pgrewrite.job;

import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.PartitionNames;

/**
 * A DDL by name on a table the job swapped out (its {@code P__old}) runs only while the name is still that table, a table
 * of no parent: checked in the DDL's own transaction, under the lock, because PostgreSQL resolves a name after the lock
 * wait. Between a check made before (the identity read from partition_state) and a DDL granted its lock after a wait, a
 * DBA may have attached the table as a partition again (a DETACH of the day and an ATTACH of the old table in its
 * place), or renamed it and given the name to another table: the DDL would drop a live partition, or someone else's
 * table, or its columns.
 */
final class SwappedOutTable {

    /** ACCESS EXCLUSIVE, the lock the DROP TABLE or ALTER TABLE after it takes anyway; taken first so the check after it holds. */
    static final String LOCK = "LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE";
    /** A plain table: LOCK of a view would lock the relations of its query, of an index fail. (name) */
    static final String EXISTS = "SELECT EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass(?) AND relkind = 'r')";
    /** The name is a table of no parent: for a kept table recorded by name only (by an earlier version). (name) */
    static final String A_TABLE_OF_NO_PARENT = """
            SELECT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = to_regclass(?) AND c.relkind = 'r' AND NOT c.relispartition)
            """;

    private SwappedOutTable() {
    }

    /**
     * Inside a LockRetry body: locks {@code qualified} and says whether it is still the table {@code oid} (null: any table),
     * detached; false when the name is gone, another table's, or a partition's (nothing is locked then but what LOCK took).
     */
    static boolean lockIfStill(SqlRunner sql, String qualified, Long oid) {
        if (!Boolean.TRUE.equals(sql.queryOne(EXISTS, Boolean.class, qualified))) {
            return false;
        }
        return lockAndCheck(sql, qualified, oid);
    }

    /** {@link #lockIfStill} of a name known to exist a moment ago (LOCK TABLE fails if it went since). */
    static boolean lockAndCheck(SqlRunner sql, String qualified, Long oid) {
        sql.execute(String.format(LOCK, qualified));
        return Boolean.TRUE.equals(oid == null ? sql.queryOne(A_TABLE_OF_NO_PARENT, Boolean.class, qualified)
                : sql.queryOne(PartitionNames.STILL_SWAPPED_OUT, Boolean.class, qualified, oid));
    }
}
