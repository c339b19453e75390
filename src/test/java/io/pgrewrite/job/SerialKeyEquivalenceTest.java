package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Issue 10, item 2: the key int → bigint. {@code id serial} in {@code PRIMARY KEY (id, at)}; the application
 * inserts with ids from the sequence while the job runs and a partition joins mid-job. After contract the
 * primary key is on the bigint id, the sequence is bigint, owned by id and its default, at the position the
 * application left it (the clone's inserts get the same ids).
 */
class SerialKeyEquivalenceTest {

    @Test
    void aSerialKeyBecomesBigintWithItsSequence() throws Exception {
        RetypeCase.Outcome o = RetypeCase.run("eq_serial", "serial", "SELECT 1", "id", "bigint",
                "ALTER TABLE passage ALTER COLUMN id TYPE bigint; ALTER SEQUENCE passage_id_seq AS bigint", true);
        assertThat(o.appRows()).isPositive();
        assertThat(o.partitionAdded()).isTrue();
    }
}
