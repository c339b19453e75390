package io.pgrewrite.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;

import io.pgrewrite.control.JobControls.ControlException;
import io.pgrewrite.control.JobControls.State;
import io.pgrewrite.control.JobControls.Throttled;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The control API the CLI and the dashboard share, against a real server: an operator pauses, postpones
 * and changes settings of a running execution, gets a clear refusal for a key that cannot change, a bad
 * value, an unknown id or an execution that has ended, and reads back what holds it (the throttle's
 * verdict included). The executions here are JobRepository rows made by hand; the job stories
 * (ThrottleAndSteerTest) run real ones.
 */
class JobControlsTest {

    static TestDatabase.Database db;
    static JobControls controls;

    @BeforeAll
    static void schema() throws Exception {
        db = TestDatabase.newDatabase("controls");
        CliRun.makeSchema(db);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO pgrewrite.batch_job_instance VALUES (1, 0, 'rewrite', 'k1'), (2, 0, 'rewrite-partition', 'k2')");
            st.execute("INSERT INTO pgrewrite.batch_job_execution (job_execution_id, version, job_instance_id, create_time, status)"
                    + " VALUES (10, 0, 1, now(), 'STARTED'), (11, 0, 1, now(), 'COMPLETED'), (12, 0, 2, now(), 'STARTED')");
            st.execute("INSERT INTO pgrewrite.batch_job_execution_params VALUES (10, 'job.key', 'java.lang.String', 'j@public.t', 'Y'),"
                    + " (11, 'job.key', 'java.lang.String', 'j@public.t', 'Y')");
        }
        controls = new JobControls(new JdbcTemplate(db.dataSource()));
    }

    @Test
    void pauseResumePostponeAllow() {
        State none = controls.state(10);
        assertThat(none.paused()).isFalse();
        assertThat(none.describe()).isNull();
        State paused = controls.pause(10);
        assertThat(paused.paused()).isTrue();
        assertThat(paused.copyHeld()).isTrue();
        assertThat(paused.updatedBy()).isNotBlank();
        assertThat(paused.describe()).contains("paused", "pgrewrite resume 10");
        assertThat(controls.postponeSwap(10).swapHeldBy()).contains("postponed");
        assertThat(controls.resume(10).copyHeld()).isFalse();
        State allowed = controls.allowSwap(10);
        assertThat(allowed.swapPostponed()).isFalse();
        assertThat(allowed.swapHeldBy()).isNull();
    }

    @Test
    void setChecksKeysAndValuesAndMerges() {
        controls.set(10, Map.of("workers", "3", "copy.pause", "50ms"));
        State s = controls.set(10, Map.of("swap.window", "22:00-06:00", "copy.pause", "default"));
        assertThat(s.settings()).containsExactlyInAnyOrderEntriesOf(Map.of("workers", "3", "swap.window", "22:00-06:00"));
        assertThat(s.describe()).contains("swap.window=22:00-06:00", "workers=3");

        assertThatThrownBy(() -> controls.set(10, Map.of("workers", "0")))
                .isInstanceOf(ControlException.class).hasMessageContaining("'workers' is '0'; allowed: 1 to 64")
                .hasMessageContaining("Nothing was changed");
        assertThatThrownBy(() -> controls.set(10, Map.of("table", "x")))
                .hasMessageContaining("'table' cannot be changed while a job runs; keys that can: workers,");
        assertThatThrownBy(() -> controls.set(10, Map.of("swap.window", "22-06")))
                .hasMessageContaining("give clock times HH:MM-HH:MM");
        assertThat(controls.state(10).settings()).containsEntry("workers", "3");
        // no process holds execution 10's job lock: the role checked is this session's, pgrewrite's own (no pg_monitor)
        assertThatThrownBy(() -> controls.set(10, Map.of("throttle.oldest-transaction", "1h", "copy.pause", "1s")))
                .isInstanceOf(ControlException.class).matches(e -> ((ControlException) e).precondition())
                .hasMessageContaining("throttle.oldest-transaction needs to see other sessions")
                .hasMessageContaining("GRANT pg_monitor TO \"pgrewrite_owner\"").hasMessageContaining("Nothing was changed");
        assertThat(controls.state(10).settings()).doesNotContainKey("copy.pause");
        controls.set(10, Map.of("workers", "default", "swap.window", "default"));
    }

    @Test
    void refusesWhatIsNotARunningExecution() {
        assertThatThrownBy(() -> controls.pause(999)).isInstanceOf(ControlException.class)
                .hasMessage("No pgrewrite execution 999. `pgrewrite status` lists them.");
        assertThatThrownBy(() -> controls.pause(12)).hasMessageContaining("No pgrewrite execution 12");
        assertThatThrownBy(() -> controls.postponeSwap(11))
                .hasMessageContaining("Execution 11 is COMPLETED, not running: nothing to steer");
        assertThat(controls.state(11).paused()).isFalse(); // reading works for any execution
    }

    @Test
    void throttleVerdictKeepsItsStart() throws Exception {
        controls.recordThrottle(10, "j@public.t", new Throttled("query", 100, 10, "", null));
        State first = controls.state(10);
        assertThat(first.throttled().signal()).isEqualTo("query");
        assertThat(first.copyHeld()).isTrue();
        assertThat(first.swapHeldBy()).startsWith("throttled: query = 100 (max 10, since ");
        Thread.sleep(20);
        controls.recordThrottle(10, "j@public.t", new Throttled("query", 120, 10, "", null));
        State second = controls.state(10);
        assertThat(second.throttled().value()).isEqualTo(120);
        assertThat(second.throttled().since()).isEqualTo(first.throttled().since());
        assertThat(second.sampledAt()).isAfter(first.sampledAt());
        controls.recordThrottle(10, "j@public.t", null);
        assertThat(controls.state(10).throttled()).isNull();
        assertThat(controls.latest("j@public.t").orElseThrow().controls().executionId()).isEqualTo(11);
    }
}
