package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Issue 10, item 1: camera_id int → bigint with a plain index and an expression index with a predicate on
 * it, while the application inserts and the daily job adds a partition. Equals the blocking ALTER TABLE …
 * TYPE, index names included.
 */
class IndexedColumnEquivalenceTest {

    @Test
    void anIndexedColumnIsRetypedOnlineAndKeepsItsIndexes() throws Exception {
        RetypeCase.Outcome o = RetypeCase.run("eq_indexed", "serial",
                "CREATE INDEX passage_camera_idx ON passage (camera_id);"
                        + " CREATE INDEX passage_camera_mod_idx ON passage ((camera_id % 10)) WHERE label IS NOT NULL",
                "camera_id", "bigint", "ALTER TABLE passage ALTER COLUMN camera_id TYPE bigint", true);
        assertThat(o.appRows()).as("the application wrote during the job").isPositive();
        assertThat(o.partitionAdded()).as("a partition joined after the job listed them").isTrue();
    }
}
