package io.pgrewrite.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator plans jobs against tables that pgrewrite cannot or should not rewrite: each is refused
 * before anything changes, with a message that names the object and says what to do.
 */
class PlanPreconditionsTest {

    static TestDatabase.Database db;

    @TempDir
    Path dir;

    @BeforeAll
    static void tables() throws Exception {
        db = TestDatabase.newDatabase("preconditions");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 100);
            Tables.daily(c, "Odd Schema", "Passage \"Archive\"", LocalDate.of(2024, 3, 1), 2, 100);
            Tables.daily(c, "public", "with_default", LocalDate.of(2024, 3, 1), 2, 10);
            st.execute("CREATE TABLE with_default_rest PARTITION OF with_default DEFAULT");
            st.execute("CREATE TABLE hashed (id bigint PRIMARY KEY, v int) PARTITION BY HASH (id)");
            st.execute("CREATE TABLE hashed_0 PARTITION OF hashed FOR VALUES WITH (MODULUS 2, REMAINDER 0)");
            st.execute("CREATE TABLE hashed_1 PARTITION OF hashed FOR VALUES WITH (MODULUS 2, REMAINDER 1)");
            st.execute("CREATE TABLE plain (id bigint PRIMARY KEY, v int)");
        }
    }

    /** Publication column lists came with PostgreSQL 15. */
    private static boolean c15() throws Exception {
        try (Connection c = db.connect()) {
            return c.getMetaData().getDatabaseMajorVersion() >= 15;
        }
    }

    private Path job(String yaml) throws Exception {
        Path f = Files.createTempFile(dir, "job", ".yaml");
        Files.writeString(f, "name: t\n" + yaml);
        return f;
    }

    private CliRun plan(String yaml) throws Exception {
        return CliRun.run(db, "plan", job(yaml).toString());
    }

    @Test
    void listsPartitionsWithSizesAndChecks() throws Exception {
        CliRun r = plan("table: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\nworkers: 2\n");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("ev_20240301", "ev_20240302", "ev_20240303", "FOR VALUES FROM ('2024-03-01 00:00:00')",
                "Total: 3 partitions", "estimated peak extra disk with 2 worker(s)", "[ok] PostgreSQL 14 or newer");
        assertThat(r.out().indexOf("ev_20240301")).isLessThan(r.out().indexOf("ev_20240303"));
    }

    @Test
    void tableNameThatNeedsQuoting() throws Exception {
        CliRun r = plan("schema: Odd Schema\ntable: Passage \"Archive\"\noperation: compact\n");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("Passage \"Archive\"_20240301", "Total: 2 partitions");
    }

    @Test
    void missingTable() throws Exception {
        CliRun r = plan("table: nosuch\noperation: compact\n");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("Table not found: public.nosuch", "table:");
    }

    @Test
    void defaultPartition() throws Exception {
        CliRun r = plan("table: with_default\noperation: compact\n");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("DEFAULT partition with_default_rest", "detach it");
    }

    /** An interrupted DETACH … CONCURRENTLY: refused, named, with the statement that finishes it; planned once it is finished. */
    @Test
    void partitionPendingDetach() throws Exception {
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "leaving", LocalDate.of(2024, 3, 1), 2, 10);
        }
        Tables.leavePendingDetach(db, "leaving", "leaving_20240301");
        CliRun r = plan("table: leaving\noperation: compact\n");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("partition \"public\".\"leaving_20240301\" of \"public\".\"leaving\" is pending detach",
                "ALTER TABLE \"public\".\"leaving\" DETACH PARTITION \"public\".\"leaving_20240301\" FINALIZE");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE leaving DETACH PARTITION leaving_20240301 FINALIZE");
        }
        CliRun after = plan("table: leaving\noperation: compact\n");
        assertThat(after.exitCode()).as(after.toString()).isEqualTo(ExitCodes.OK);
        assertThat(after.out()).contains("Total: 1 partitions").doesNotContain("leaving_20240301");
    }

    /** Two partitions of one name, in two schemas: refused, named. */
    @Test
    void partitionsOfOneNameInTwoSchemas() throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "twins", LocalDate.of(2024, 3, 1), 2, 10);
            st.execute("CREATE SCHEMA twin_archive");
            st.execute("ALTER TABLE twins_20240301 SET SCHEMA twin_archive");
            st.execute("CREATE TABLE twins_20240301 PARTITION OF twins FOR VALUES FROM ('2024-02-29') TO ('2024-03-01')");
        }
        CliRun r = plan("table: twins\noperation: compact\n");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("partitions named [twins_20240301] of \"public\".\"twins\" are in more than one schema");
    }

    @Test
    void hashPartitioned() throws Exception {
        CliRun r = plan("table: hashed\noperation: compact\n");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("hashed is partitioned by hash", "range partitioning");
    }

    @Test
    void notPartitioned() throws Exception {
        CliRun r = plan("table: plain\noperation: compact\n");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("plain is not partitioned");
    }

    @Test
    void missingColumn() throws Exception {
        CliRun r = plan("table: ev\noperation: alter-column-type\ncolumn: masa\ntype: integer\n");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("ev has no column masa", "column:");
    }

    @Test
    void columnAlreadyOfTargetType() throws Exception {
        CliRun r = plan("table: ev\noperation: alter-column-type\ncolumn: massa\ntype: smallint\n");
        assertThat(r.exitCode()).as("nothing to do, not a blocker").isEqualTo(ExitCodes.NOTHING_TO_DO);
        assertThat(r.err()).contains("massa is already of type smallint");
    }

    @Test
    void expressionThatDoesNotTypeCheck() throws Exception {
        CliRun r = plan("table: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\nusing: massa + label\n");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("does not type-check against ev", "operator does not exist", "Fix 'using:'");
        CliRun backfill = plan("table: ev\noperation: backfill\nset:\n  massa: nosuchcol * 2\n");
        assertThat(backfill.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(backfill.err()).contains("nosuchcol", "Fix 'set.massa:'");
        // What a blocking ALTER's USING or an UPDATE's SET refuses: not one value of the row it is computed for.
        for (String[] e : new String[][] {{"sum(massa) over ()", "window functions are not allowed in an expression computed for each row"},
                {"count(*)", "aggregate functions are not allowed in an expression computed for each row"},
                {"generate_series(massa, massa + 1)", "set-returning functions are not allowed in an expression computed for each row"},
                {"ev.massa + 1", "a column is named with its table (\"ev\"): name it alone"}}) {
            CliRun added = plan("table: ev\noperation: add-column\ncolumn: c\ntype: bigint\nusing: " + e[0] + "\n");
            assertThat(added.exitCode()).as(added.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(added.err()).contains(e[1], "Fix 'using:'");
        }
        assertThat(plan("table: ev\noperation: add-column\ncolumn: c\ntype: bigint\nusing: massa * 2\n").exitCode())
                .isEqualTo(ExitCodes.OK);
    }

    @Test
    void whatUsesTheRetypedColumn() throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE indexed (LIKE ev INCLUDING ALL) PARTITION BY RANGE (at)");
            st.execute("CREATE TABLE indexed_1 PARTITION OF indexed FOR VALUES FROM ('2024-01-01') TO ('2024-01-02')");
            st.execute("CREATE INDEX indexed_massa ON indexed (massa)");
            st.execute("ALTER TABLE indexed ADD CONSTRAINT massa_positive CHECK (massa >= 0)");
        }
        // Indexes, keys and valid CHECKs are rebuilt on the new column (issue 10, items 1-3): planned.
        CliRun indexed = plan("table: indexed\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
        assertThat(indexed.exitCode()).as(indexed.toString()).isEqualTo(ExitCodes.OK);
        CliRun key = plan("table: indexed\noperation: alter-column-type\ncolumn: id\ntype: numeric\n");
        assertThat(key.exitCode()).as(key.toString()).isEqualTo(ExitCodes.OK);
        assertThat(key.out()).contains("in the row key [id, at]");
        // What stays refused, and why.
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE VIEW heavy AS SELECT id, at FROM indexed WHERE massa > 1000");
            st.execute("ALTER TABLE indexed ADD CONSTRAINT massa_small CHECK (massa < 30000) NOT VALID");
        }
        CliRun r = plan("table: indexed\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("view heavy", "constraint massa_small", "use massa", "a NOT VALID CHECK must be validated")
                .doesNotContain("index indexed_massa", "massa_positive");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("DROP VIEW heavy");
            st.execute("ALTER TABLE indexed DROP CONSTRAINT massa_small");
            st.execute("CREATE INDEX indexed_1_massa_only ON indexed_1 (massa)");
        }
        CliRun local = plan("table: indexed\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
        assertThat(local.exitCode()).as(local.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(local.err()).contains("index indexed_1_massa_only", "belong to single partitions").doesNotContain("indexed_massa");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("DROP INDEX indexed_1_massa_only");
        }
        try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
            st.execute("CREATE STATISTICS public.indexed_dba (ndistinct) ON id, massa FROM indexed"); // a DBA's, owned by the superuser
        }
        CliRun foreign = plan("table: indexed\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
        assertThat(foreign.exitCode()).as(foreign.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(foreign.err()).contains("public.indexed_dba (owner ", "contract drops and creates them again", "OWNER TO");
        try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
            st.execute("ALTER STATISTICS public.indexed_dba OWNER TO " + TestDatabase.OWNER);
        }
        CliRun owned = plan("table: indexed\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
        assertThat(owned.exitCode()).as(owned.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("DROP STATISTICS public.indexed_dba");
        }
        if (c15()) {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                st.execute("CREATE PUBLICATION indexed_day FOR TABLE indexed_1 (id, at, massa)");
            }
            CliRun published = plan("table: indexed\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
            assertThat(published.exitCode()).as(published.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(published.err()).contains("publication indexed_day (indexed_1)", "publish massa in a column list",
                    "ALTER PUBLICATION");
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                st.execute("ALTER PUBLICATION indexed_day SET TABLE indexed_1 (id, at)");
            }
            CliRun unpublished = plan("table: indexed\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
            assertThat(unpublished.exitCode()).as(unpublished.toString()).isEqualTo(ExitCodes.OK);
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                st.execute("DROP PUBLICATION indexed_day");
            }
        }
        CliRun partitionKey = plan("table: indexed\noperation: alter-column-type\ncolumn: at\ntype: timestamptz\n");
        assertThat(partitionKey.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(partitionKey.err()).contains("part of the partition key", "every partition's bound is on the partition key");
    }

    /**
     * PostgreSQL cuts a name of more than 63 bytes short without a word: a retyped column's shadow
     * ({@code <col>__pgrewrite}) would be added under another name than the one contract and the sync trigger
     * use (the job "completed", the column not retyped), or be taken for a column of the user's of that shorter
     * name. Counted in bytes, not characters. A column of the shadow's name is refused whoever made it.
     */
    @Test
    void aColumnNameTooLongForItsShadowColumn() throws Exception {
        String sixty = "m".repeat(60);
        String accented = "é".repeat(30); // 30 characters, 60 bytes
        String fiftyFive = "a".repeat(55);
        String truncatedShadow = (fiftyFive + "__pgrewrite").substring(0, 63); // what PostgreSQL would have named it
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "longcols", LocalDate.of(2024, 3, 1), 1, 10);
            st.execute("ALTER TABLE longcols ADD COLUMN \"" + sixty + "\" smallint, ADD COLUMN \"" + accented + "\" smallint,"
                    + " ADD COLUMN \"" + fiftyFive + "\" smallint, ADD COLUMN \"" + truncatedShadow + "\" smallint,"
                    + " ADD COLUMN massa__pgrewrite smallint");
        }
        for (String col : java.util.List.of(sixty, accented, fiftyFive)) {
            CliRun r = plan("table: longcols\noperation: alter-column-type\ncolumn: " + col + "\ntype: integer\n");
            assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(r.err()).contains("column " + col + " of longcols has " + col.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                    + " bytes", "a column " + col + "__pgrewrite", "PostgreSQL names have at most 63 bytes",
                    "Rename the column to at most 52 bytes");
        }
        CliRun taken = plan("table: longcols\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
        assertThat(taken.exitCode()).as(taken.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(taken.err()).contains("column massa__pgrewrite exists", "continue it with `pgrewrite restart`",
                "if the column is not pgrewrite's, rename it");
    }

    /**
     * A DEFERRABLE key on the retyped column: rebuilt NOT DEFERRABLE, it would fail the application's statements that
     * defer it (a review reproduced an UPDATE … SET seq = seq + 1 failing on a swapped partition and after contract).
     */
    @Test
    void aDeferrableKeyOnTheRetypedColumn() throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "deferred", LocalDate.of(2024, 3, 1), 1, 10);
            st.execute("ALTER TABLE deferred ADD CONSTRAINT deferred_seq UNIQUE (massa, at) DEFERRABLE INITIALLY IMMEDIATE");
        }
        CliRun r = plan("table: deferred\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("keys [deferred_seq] of deferred are DEFERRABLE", "NOT DEFERRABLE", "Use a plain ALTER TABLE");
        CliRun other = plan("table: deferred\noperation: alter-column-type\ncolumn: id\ntype: numeric\n");
        assertThat(other.toString()).doesNotContain("are DEFERRABLE");
    }

    /**
     * A partition's own NOT NULL or default on the retyped column (contract gives the new column the table's only), and a
     * foreign key whose ON DELETE SET NULL list names it (not rebuildable on the shadow column): both failed the job
     * after expand or lost the partition's setting; plan refuses them.
     */
    @Test
    void aPartitionsOwnNotNullOrDefaultAndAnOnDeleteSetListOnTheRetypedColumn() throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ownnn", LocalDate.of(2024, 3, 1), 2, 10);
            st.execute("ALTER TABLE ownnn_20240301 ALTER COLUMN massa SET NOT NULL");
            st.execute("ALTER TABLE ownnn_20240302 ALTER COLUMN massa SET DEFAULT 7");
        }
        CliRun r = plan("table: ownnn\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("partitions [ownnn_20240301, ownnn_20240302] have a NOT NULL or a default on massa other"
                + " than ownnn's");
        if (c15()) {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                Tables.daily(c, "public", "setnull", LocalDate.of(2024, 3, 1), 1, 10);
                st.execute("CREATE TABLE setnull_ref (k bigint, m smallint, PRIMARY KEY (k, m))");
                st.execute("INSERT INTO setnull_ref SELECT id, massa FROM setnull");
                st.execute("ALTER TABLE setnull ADD CONSTRAINT setnull_fk FOREIGN KEY (id, massa) REFERENCES setnull_ref (k, m)"
                        + " ON DELETE SET NULL (massa)");
            }
            CliRun f = plan("table: setnull\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
            assertThat(f.exitCode()).as(f.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(f.err()).contains("foreign keys [setnull_fk] set massa ON DELETE");
        }
    }

    /** The swap renames a partition to {@code <name>__old}: 58 bytes at most, in bytes. */
    @Test
    void aPartitionNameTooLongForItsOldName() throws Exception {
        String table = "é".repeat(25); // its partitions' names: 34 characters, 59 bytes
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", table, LocalDate.of(2024, 3, 1), 1, 10);
        }
        CliRun r = plan("table: " + table + "\noperation: compact\n");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("partitions [" + table + "_20240301] have more than 58 bytes", "renames each to <name>__old",
                "Rename them to at most 58 bytes");
    }

    @Test
    void aColumnChangeOnSomePartitionsOnly() throws Exception {
        CliRun r = plan("table: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\npartitions:\n  from: 2024-03-02\n");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("all of them must be rewritten", "Remove 'partitions.from'");
    }

    @Test
    void foreignKeysAndLeftovers() throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "fk", LocalDate.of(2024, 3, 1), 1, 10);
            st.execute("CREATE TABLE fk_ref (id bigint, at timestamp, FOREIGN KEY (id, at) REFERENCES fk)");
            Tables.daily(c, "public", "left", LocalDate.of(2024, 3, 1), 1, 10);
            st.execute("CREATE TABLE left_20240301__rw (LIKE left_20240301)");
        }
        CliRun fk = plan("table: fk\noperation: compact\n");
        assertThat(fk.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(fk.err()).contains("foreign key fk_ref_id_at_fkey on fk_ref references fk",
                "DETACH of a referenced partition takes ACCESS EXCLUSIVE on the referencing table and scans it",
                "ATTACH of the copy would clone the key's action triggers", "Drop the referencing foreign key for the job");
        CliRun left = plan("table: left\noperation: compact\n");
        assertThat(left.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(left.err()).contains("[left_20240301__rw] exist", "drop them if they are not needed");
    }

    /** A foreign key to one partition only is as much in the way as one to the parent. */
    @Test
    void aForeignKeyReferencingOnePartitionIsRefusedAndOneFromTheTableIsCarried() throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE cams (id int PRIMARY KEY)");
            Tables.daily(c, "public", "refd", LocalDate.of(2024, 3, 1), 2, 10);
            st.execute("CREATE TABLE refd_notes (id bigint, at timestamp, FOREIGN KEY (id, at) REFERENCES refd_20240302 (id, at))");
            Tables.daily(c, "public", "refs", LocalDate.of(2024, 3, 1), 2, 10);
            st.execute("INSERT INTO cams VALUES (1)");
            st.execute("ALTER TABLE refs ADD COLUMN cam int DEFAULT 1 REFERENCES cams (id)");
        }
        CliRun refd = plan("table: refd\noperation: compact\n");
        assertThat(refd.exitCode()).as(refd.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(refd.err()).contains("foreign key refd_notes_id_at_fkey on refd_notes references refd_20240302",
                "Nothing of that can be done online");
        CliRun refs = plan("table: refs\noperation: compact\n");
        assertThat(refs.exitCode()).as(refs.toString()).isEqualTo(ExitCodes.OK);
        assertThat(refs.out()).contains("no foreign keys referencing the table", "foreign keys from it to other tables are carried");
    }

    @Test
    void diskBudgetSmallerThanLargestPartition() throws Exception {
        CliRun r = plan("table: ev\noperation: compact\ndisk:\n  max-extra: 10kB\n");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("disk.max-extra 10.0 kB is smaller than the largest partition ev_2024030",
                "Raise disk.max-extra to at least");
    }

    @Test
    void tooOldServer() {
        assertThat(Planner.versionCheck(130011).ok()).isFalse();
        assertThat(Planner.versionCheck(130011).detail()).contains("server is 13.11", "needs 14 or newer");
        assertThat(Planner.versionCheck(140000).ok()).isTrue();
    }

    @Test
    void badDefinitionNeverReachesTheDatabase() throws Exception {
        CliRun r = CliRun.run(null, "plan", job("table: ev\noperation: alter-type\n").toString(), "--url",
                "jdbc:postgresql://localhost:1/none");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.BAD_DEFINITION);
        assertThat(r.err()).contains("operation");
    }
}
