package io.pgrewrite.plan;

import java.util.LinkedHashMap;
import java.util.Map;

import io.pgrewrite.definition.JobDefinition;
import org.springframework.batch.core.partition.Partitioner;
import org.springframework.batch.infrastructure.item.ExecutionContext;

/**
 * The Partitioner: one execution context per table partition, keyed by its name, so the worker step
 * executions are named {@code rewrite:<partition>} and keep that name across restarts. Spring Batch
 * calls this only on the first run; a restart reuses the contexts it stored.
 */
public final class PartitionList implements Partitioner {

    public static final String PARTITION = "partition";
    public static final String ORDER = "order";

    private final Planner planner;
    private final JobDefinition definition;

    public PartitionList(Planner planner, JobDefinition definition) {
        this.planner = planner;
        this.definition = definition;
    }

    @Override
    public Map<String, ExecutionContext> partition(int gridSize) {
        Map<String, ExecutionContext> contexts = new LinkedHashMap<>();
        int order = 0;
        for (Partition p : planner.selectedPartitions(definition)) {
            ExecutionContext ctx = new ExecutionContext();
            ctx.putString(PARTITION, p.name());
            ctx.putInt(ORDER, order++);
            contexts.put(p.name(), ctx);
        }
        return contexts;
    }
}
