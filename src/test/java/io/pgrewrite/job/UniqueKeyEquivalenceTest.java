package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Issue 10, item 1: a UNIQUE constraint including the retyped column comes back as a constraint, same names. */
class UniqueKeyEquivalenceTest {

    @Test
    void aUniqueConstraintOnTheColumnIsRebuiltOnTheNewColumn() throws Exception {
        RetypeCase.Outcome o = RetypeCase.run("eq_unique", "serial",
                "ALTER TABLE passage ADD CONSTRAINT passage_camera_at_key UNIQUE (camera_id, at)",
                "camera_id", "bigint", "ALTER TABLE passage ALTER COLUMN camera_id TYPE bigint", false);
        assertThat(o.appRows()).isPositive();
    }
}
