package io.pgrewrite.job;

import javax.sql.DataSource;

import io.pgrewrite.copy.CatchUp;
import io.pgrewrite.copy.Capture;
import io.pgrewrite.copy.CopyTarget;
import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.expand.ShapeChange;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.Catalog;
import io.pgrewrite.plan.Planner;
import io.pgrewrite.swap.IndexBuild;
import io.pgrewrite.swap.Retire;
import io.pgrewrite.swap.Swap;
import io.pgrewrite.swap.Verify;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The step implementations for one job definition, wired once: each takes its statements from its
 * own class and runs them through one {@link SqlRunner} (which prints them instead under dry run).
 */
public record Engine(JobDefinition definition, SqlRunner sql, TransactionTemplate tx, DataSource dataSource,
        LockRetry lockRetry, Planner planner, Catalog catalog, ShapeChange shapeChange, Capture capture,
        CopyTarget copyTarget, io.pgrewrite.copy.CopyPosition copyPosition, CatchUp catchUp, IndexBuild indexBuild, Verify verify, Swap swap, Retire retire,
        PartitionState state, DiskBudget diskBudget) {

    /**
     * For tasklet steps: Spring Batch wants a transaction manager, these steps must not hold a
     * transaction (and its locks) while they work. Statements run in autocommit or in the steps' own
     * short transactions.
     */
    public static final org.springframework.transaction.PlatformTransactionManager NO_TRANSACTION =
            new org.springframework.batch.infrastructure.support.transaction.ResourcelessTransactionManager();

    /** A template for work that must commit on its own, whatever transaction the caller is in. */
    public TransactionTemplate newTx() {
        return io.pgrewrite.pg.Transactions.requiresNew(tx);
    }

    public static Engine create(JobDefinition def, JdbcTemplate jdbc, TransactionTemplate tx, DataSource dataSource,
            boolean dryRun, java.io.PrintStream out) {
        SqlRunner sql = new SqlRunner(jdbc, dryRun, out);
        LockRetry lockRetry = new LockRetry(tx, sql, def.swap().lockTimeout(), def.swap().maxAttempts());
        Planner planner = new Planner(jdbc);
        Capture capture = new Capture(sql, lockRetry);
        CatchUp catchUp = new CatchUp(sql);
        PartitionState state = new PartitionState(jdbc);
        io.pgrewrite.copy.CopyPosition position = new io.pgrewrite.copy.CopyPosition(jdbc);
        return new Engine(def, sql, tx, dataSource, lockRetry, planner, planner.catalog(), new ShapeChange(sql, lockRetry),
                capture, new CopyTarget(sql, lockRetry, capture, position), position, catchUp, new IndexBuild(sql, lockRetry, dataSource, def.statistics()),
                new Verify(sql, tx), new Swap(sql, lockRetry, catchUp, tx), new Retire(sql, lockRetry, capture), state,
                new DiskBudget(jdbc, tx, java.time.Duration.ofSeconds(1)));
    }
}
