package io.pgrewrite.job;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.Operation;
import io.pgrewrite.plan.Keys;
import io.pgrewrite.plan.Partition;
import io.pgrewrite.plan.PartitionNames;
import io.pgrewrite.plan.PartitionWork;
import io.pgrewrite.plan.Plan;
import io.pgrewrite.plan.Projection;
import io.pgrewrite.plan.Table;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * {@code plan --dry-run}: walks expand, the steps of the first partition and contract with a runner
 * that prints every state-changing statement instead of running it. Catalog reads still run.
 */
public final class DryRun {

    private final JobDefinition def;
    private final JdbcTemplate jdbc;
    private final PlatformTransactionManager tm;
    private final DataSource dataSource;

    public DryRun(JobDefinition def, JdbcTemplate jdbc, PlatformTransactionManager tm, DataSource dataSource) {
        this.def = def;
        this.jdbc = jdbc;
        this.tm = tm;
        this.dataSource = dataSource;
    }

    public void print(PrintStream out, Plan plan) {
        Engine e = Engine.create(def, jdbc, new TransactionTemplate(tm), dataSource, true, out);
        out.println();
        out.println("-- Statements (dry run: nothing below was executed)");
        out.println("-- expand");
        e.shapeChange().expand(def, plan.table());
        if (plan.partitions().isEmpty()) {
            return;
        }
        Table expanded = expanded(def, plan.table());
        Partition first = plan.partitions().get(0);
        PartitionWork w = new PartitionWork(def, expanded, first, PartitionNames.of(expanded, first),
                Projection.of(def, expanded), Keys.of(expanded));
        out.println("-- rewrite " + first.name() + " (every partition the same way)");
        out.println("-- capture");
        e.capture().install(w.names(), expanded);
        out.println("-- copy: one statement per range of heap pages (about " + def.copy().chunkRows() + " rows), each its own transaction");
        e.copyTarget().prepare(w.names(), expanded, first, def.storage(), def.jobKey());
        e.sql().print(io.pgrewrite.copy.InsertSelectWriter.statement(w, new io.pgrewrite.copy.BlockRange(0, 1000L)),
                "(0,0)", "(1000,0)");
        out.println("-- index");
        e.indexBuild().build(w);
        out.println("-- catch up (repeated until little is left)");
        e.catchUp().replay(w, 10_000);
        out.println("-- verify");
        e.verify().verify(w);
        out.println("-- swap");
        e.swap().swap(w);
        if (def.statistics() == io.pgrewrite.definition.Statistics.AFTER_SWAP) {
            out.println("-- statistics (statistics: after-swap; in the background, on a connection of its own)");
            BackgroundAnalyze.afterSwap(e, w.names());
        }
        out.println("-- retire");
        e.retire().retire(w, def.retire() == io.pgrewrite.definition.Retire.KEEP);
        out.println("-- contract");
        e.shapeChange().contract(def, expanded(def, plan.table()));
    }

    /** The table as it will look after expand, so the statements of the copy show the new columns. */
    static Table expanded(JobDefinition def, Table t) {
        List<Table.Column> cols = new ArrayList<>(t.columns());
        int next = cols.stream().mapToInt(Table.Column::attnum).max().orElse(0) + 1;
        if (def.operation() == Operation.ALTER_COLUMN_TYPE) {
            cols.add(new Table.Column(Projection.shadowColumn(def.column()), next, def.type(), false, null, false));
        } else if (def.operation() == Operation.ADD_COLUMN) {
            cols.add(new Table.Column(def.column(), next, def.type(), false, null, false));
        } else if (def.operation() == Operation.DROP_COLUMN) {
            cols.removeIf(c -> c.name().equals(def.column()));
        }
        return new Table(t.oid(), t.schema(), t.name(), t.owner(), t.relkind(), t.strategy(), t.partitionKey(),
                t.defaultPartition(), List.copyOf(cols), t.keyColumns(), t.keySource(), t.partitions(),
                t.replicaIdentity(), t.triggers(), t.publications(), t.details());
    }
}
