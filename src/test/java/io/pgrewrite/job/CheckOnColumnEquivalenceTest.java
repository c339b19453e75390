package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Issue 10, item 3: CHECKs on the retyped column (one of its own, one with another column) come back on the
 * new column under their names, valid, on the parent and every partition, a partition made mid-job included.
 */
class CheckOnColumnEquivalenceTest {

    @Test
    void checksOnTheColumnComeBackOnTheNewColumn() throws Exception {
        RetypeCase.Outcome o = RetypeCase.run("eq_check", "serial",
                "ALTER TABLE passage ADD CONSTRAINT camera_id_positive CHECK (camera_id >= 0);"
                        + " ALTER TABLE passage ADD CHECK (camera_id < 100000 OR label IS NULL)",
                "camera_id", "bigint", "ALTER TABLE passage ALTER COLUMN camera_id TYPE bigint", true);
        assertThat(o.partitionAdded()).isTrue();
    }
}
