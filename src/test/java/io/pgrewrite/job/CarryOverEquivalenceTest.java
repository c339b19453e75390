package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A DBA's table that carries everything a blocking ALTER keeps — on one partition: membership of a
 * publication, row-level security and a policy, a tablespace of its own and an index in it, a disabled
 * local trigger and a disabled clone of the parent's trigger, a replica-only trigger, column comments,
 * column grants, statistics targets and n_distinct, a CLUSTER mark, a DEFERRABLE INITIALLY DEFERRED unique
 * constraint of its own and a clone of the parent's DEFERRABLE one, comments on an index and on
 * constraints, extended statistics; on the parent: the retyped column's comment, grant, statistics target
 * and n_distinct — rewritten by pgrewrite, equals its clone changed by the blocking statement: the same
 * rows both ways and the same catalog ({@link CatalogSnapshot#full}).
 */
class CarryOverEquivalenceTest {

    @TempDir
    Path temp;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "compact|storage:\\n  fillfactor: 100|ALTER TABLE ev_20240301 SET (fillfactor = 100); ALTER TABLE ev_20240302 SET (fillfactor = 100); ALTER TABLE ev_20240303 SET (fillfactor = 100)",
        "alter-column-type|column: v\\ntype: integer|ALTER TABLE ev ALTER COLUMN v TYPE integer USING v::integer",
    })
    void everythingTheBlockingStatementKeepsIsKept(String operation, String keys, String plainSql) throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("carry_" + operation.replace('-', '_'));
        String tablespace = db.name() + "_ts";
        String refName = null;
        try {
            try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
                st.execute("DO $$ BEGIN CREATE ROLE pgrewrite_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
                st.execute("CREATE TABLESPACE " + tablespace + " LOCATION '" + tablespaceDirectory(st) + "'");
                st.execute("GRANT CREATE ON TABLESPACE " + tablespace + " TO " + TestDatabase.OWNER);
            }
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                for (String sql : setup(tablespace)) {
                    st.execute(sql);
                }
                if (c.getMetaData().getDatabaseMajorVersion() >= 15) {
                    // column lists and row filters came with PostgreSQL 15
                    st.execute("CREATE PUBLICATION ev_some_columns FOR TABLE ev_20240301 (id, at, note) WHERE (id > 5)");
                }
            }
            TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "carryref_" + operation.replace('-', '_'));
            refName = ref.name();
            compare(operation, keys, plainSql, db, ref);
        } finally {
            // JUnit deletes the temp dir: the tablespace (and what lives in it) must be gone first, or the
            // server's next checkpoint fails on the missing files.
            try (Connection su = DriverManager.getConnection(db.server().url("postgres"), db.server().user(), db.server().password());
                    Statement st = su.createStatement()) {
                st.execute("DROP DATABASE IF EXISTS " + db.name() + " WITH (FORCE)");
                if (refName != null) {
                    st.execute("DROP DATABASE IF EXISTS " + refName + " WITH (FORCE)");
                }
                st.execute("DROP TABLESPACE IF EXISTS " + tablespace);
            }
        }
    }

    private void compare(String operation, String keys, String plainSql, TestDatabase.Database db, TestDatabase.Database ref)
            throws Exception {
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute(plainSql);
        }
        Path job = Files.createTempFile(temp, "carry", ".yaml");
        Files.writeString(job, "name: carry\ntable: ev\noperation: " + operation + "\n" + keys.replace("\\n", "\n") + "\nworkers: 2\n");
        CliRun plan = CliRun.run(db, "plan", job.toString());
        assertThat(plan.exitCode()).as(plan.toString()).isEqualTo(ExitCodes.OK);
        assertThat(plan.out()).contains("publication membership (1 partition)", "a tablespace of their own (1 partition)",
                "triggers not simply enabled (1 partition)", "extended statistics (1 partition)");
        if (operation.equals("alter-column-type")) {
            assertThat(plan.out()).contains("positional INSERT", "carried over by contract", "trigger's NEW.* also see its column v__pgrewrite");
        }
        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);

        try (Connection ours = db.connect(); Connection theirs = ref.connect()) {
            assertThat(CatalogSnapshot.rows(ours, "ev")).hasSize(3 * 500).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "ev"));
            assertThat(CatalogSnapshot.full(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.full(theirs, "ev"));
            if (ours.getMetaData().getDatabaseMajorVersion() >= 15) {
                assertThat(publishedColumns(ours)).contains("ev_some_columns ev_20240301 {at,id,note} (id > 5)")
                        .containsExactlyElementsOf(publishedColumns(theirs));
            }
        }
    }

    /** Each publication's column list and row filter of a partition (CatalogSnapshot.full compares membership). */
    private static List<String> publishedColumns(Connection c) throws SQLException {
        List<String> lines = new java.util.ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT p.pubname || ' ' || r.prrelid::regclass"
                + " || ' ' || coalesce((SELECT array_agg(attname ORDER BY attname)::text FROM pg_attribute"
                + " WHERE attrelid = r.prrelid AND attnum = ANY (r.prattrs)), '-') || ' ' || coalesce(pg_get_expr(r.prqual, r.prrelid), '-')"
                + " FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid ORDER BY 1")) {
            while (rs.next()) {
                lines.add(rs.getString(1));
            }
        }
        return lines;
    }

    static List<String> setup(String tablespace) {
        return List.of(
                "CREATE TABLE ev (id int NOT NULL, at date NOT NULL, v smallint, note text, code int, batch int,"
                        + " PRIMARY KEY (id, at), UNIQUE (batch, at) DEFERRABLE) PARTITION BY RANGE (at)",
                "CREATE TABLE ev_20240301 PARTITION OF ev FOR VALUES FROM ('2024-03-01') TO ('2024-03-02') TABLESPACE " + tablespace,
                "CREATE TABLE ev_20240302 PARTITION OF ev FOR VALUES FROM ('2024-03-02') TO ('2024-03-03')",
                "CREATE TABLE ev_20240303 PARTITION OF ev FOR VALUES FROM ('2024-03-03') TO ('2024-03-04')",
                "INSERT INTO ev SELECT g, d::date, (g % 300)::smallint, 'note ' || g, g, g FROM generate_series(1, 500) g,"
                        + " generate_series('2024-03-01'::date, '2024-03-03', '1 day') d",
                // the column being retyped, on the parent (recursing) and on partitions
                "COMMENT ON COLUMN ev.v IS 'mass in kg'",
                // an index on it in a tablespace (alter-column-type rebuilt it in the default tablespace). Not a
                // partition's index in a tablespace of its own, nor a comment on the index: what the blocking ALTER does
                // with those depends on the version (README, Limits).
                "CREATE INDEX ev_v ON ev (v) TABLESPACE " + tablespace + " WHERE v > 0",
                "GRANT SELECT (v) ON ev TO pgrewrite_reader",
                "ALTER TABLE ev ALTER COLUMN v SET STATISTICS 500",
                "ALTER TABLE ev_20240302 ALTER COLUMN v SET STATISTICS 50",
                "ALTER TABLE ONLY ev ALTER COLUMN v SET (n_distinct_inherited = 300)",
                "ALTER TABLE ev_20240301 ALTER COLUMN v SET (n_distinct = 300)",
                "COMMENT ON COLUMN ev_20240301.v IS 'day one''s mass'",
                "GRANT SELECT (v) ON ev_20240301 TO pgrewrite_reader",
                // the partition's own
                "CREATE PUBLICATION ev_day_one FOR TABLE ev_20240301",
                "ALTER TABLE ev_20240301 ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY readers ON ev_20240301 FOR SELECT TO pgrewrite_reader USING (id > 10)",
                "CREATE INDEX ev_20240301_note ON ev_20240301 (note) TABLESPACE " + tablespace + " WHERE id > 0",
                "COMMENT ON INDEX ev_20240301_note IS 'by note'",
                "CREATE INDEX ev_20240301_batch ON ev_20240301 (batch)",
                "ALTER TABLE ev_20240301 CLUSTER ON ev_20240301_batch",
                "ALTER TABLE ev_20240301 ADD CONSTRAINT ev_20240301_code UNIQUE (code, at) DEFERRABLE INITIALLY DEFERRED",
                "COMMENT ON CONSTRAINT ev_20240301_code ON ev_20240301 IS 'a code once a day'",
                "ALTER TABLE ev_20240301 ADD CONSTRAINT ev_20240301_positive CHECK (id > 0)",
                "COMMENT ON CONSTRAINT ev_20240301_positive ON ev_20240301 IS 'no zero ids'",
                "CREATE STATISTICS ev_20240301_stx (ndistinct) ON id, code FROM ev_20240301",
                "ALTER TABLE ev_20240301 ALTER COLUMN note SET STATISTICS 200",
                "ALTER TABLE ev_20240301 ALTER COLUMN note SET (n_distinct = -0.5)",
                "COMMENT ON COLUMN ev_20240301.note IS 'free text'",
                "GRANT SELECT (note), UPDATE (note) ON ev_20240301 TO pgrewrite_reader",
                "CREATE FUNCTION ev_touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
                "CREATE TRIGGER ev_audit BEFORE INSERT ON ev FOR EACH ROW EXECUTE FUNCTION ev_touch()",
                "ALTER TABLE ev_20240301 DISABLE TRIGGER ev_audit",
                "CREATE TRIGGER ev_local BEFORE UPDATE ON ev_20240301 FOR EACH ROW EXECUTE FUNCTION ev_touch()",
                "ALTER TABLE ev_20240301 DISABLE TRIGGER ev_local",
                "CREATE TRIGGER ev_replica AFTER DELETE ON ev_20240301 FOR EACH ROW EXECUTE FUNCTION ev_touch()",
                "ALTER TABLE ev_20240301 ENABLE REPLICA TRIGGER ev_replica");
    }

    /**
     * An empty directory under the test's temp dir that the server's OS user owns (the owner of its data
     * directory) and can reach; the test JVM may run as another user (root) than the server.
     */
    private String tablespaceDirectory(Statement superuser) throws SQLException, IOException {
        Path dataDirectory;
        try (ResultSet rs = superuser.executeQuery("SHOW data_directory")) {
            rs.next();
            dataDirectory = Path.of(rs.getString(1));
        }
        Path dir = Files.createDirectory(temp.resolve("tablespace"));
        UserPrincipal serverUser = Files.getOwner(dataDirectory);
        Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setOwner(dir, serverUser);
        return dir.toString();
    }
}
