package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;

import io.pgrewrite.testsupport.Tables;
import org.junit.jupiter.api.Test;

/**
 * Names chosen to look like the text pgrewrite cuts definitions at: an index on the retyped column and an index of a
 * partition of its own whose names hold {@code " USING "} and a statement, and a foreign key on the retyped column whose
 * other column's name holds {@code ") REFERENCES "} and a statement. pgrewrite read each definition from the first such
 * text on, so each name's tail became a statement of its own in pgrewrite's DDL (the first two created a table, the
 * third dropped the table being rewritten). The type change equals the blocking ALTER, and no statement of a name runs.
 */
class HostileNamesEquivalenceTest {

    @Test
    void namesHoldingTheTextDefinitionsAreCutAtAreNamesOnly() throws Exception {
        String fkColumn = "k) REFERENCES cams (tag, id); DROP TABLE passage; CREATE TABLE pwned_fk (); --";
        RetypeCase.Outcome o = RetypeCase.run("eq_hostile", "serial",
                "CREATE INDEX \"x USING btree (label); CREATE TABLE pwned_parent (); --\" ON passage (camera_id);"
                        + " CREATE INDEX \"y USING btree (label); CREATE TABLE pwned_partition (); --\" ON passage_20240301 (label);"
                        + " CREATE TABLE cams (tag text, id int, PRIMARY KEY (tag, id));"
                        + " ALTER TABLE passage ADD COLUMN " + Tables.q(fkColumn) + " text;"
                        + " ALTER TABLE passage ADD CONSTRAINT passage_cam_fk FOREIGN KEY (" + Tables.q(fkColumn) + ", camera_id)"
                        + " REFERENCES cams (tag, id)",
                "camera_id", "bigint", "ALTER TABLE passage ALTER COLUMN camera_id TYPE bigint", false);
        assertThat(o.appRows()).as("the application wrote during the job").isPositive();
        // RetypeCase compared rows and catalog with the blocking ALTER's; the names' statements never ran.
        try (Connection c = o.db().connect(); Statement st = c.createStatement()) {
            assertThat(Tables.one(st, "SELECT count(*) FROM pg_class WHERE relname LIKE 'pwned%'")).isZero();
        }
    }
}
