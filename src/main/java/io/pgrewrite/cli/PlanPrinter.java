package io.pgrewrite.cli;

import java.io.PrintStream;

import io.pgrewrite.plan.Bytes;
import io.pgrewrite.plan.Partition;
import io.pgrewrite.plan.Plan;

/** Prints a plan: partitions in rewrite order with rows and bytes, totals, the peak estimate, the checks. */
final class PlanPrinter {

    private PlanPrinter() {
    }

    static void print(PrintStream out, Plan plan) {
        var def = plan.definition();
        var t = plan.table();
        out.printf("Job %s: %s on %s.%s, %d worker(s), statistics %s%n", def.name(), def.operation().yamlName(), t.schema(),
                t.name(), def.workers(), def.statistics().yamlName());
        out.printf("Table %s.%s: owner %s, partitioned by range %s, key %s, %d columns, replica identity %s%s%s%n",
                t.schema(), t.name(), t.owner(), t.partitionKey(), t.keyColumns(), t.columns().size(), t.replicaIdentity(),
                t.triggers().isEmpty() ? "" : ", triggers " + t.triggers(),
                t.publications().isEmpty() ? "" : ", publications " + t.publications());
        t.details().indexes().forEach(i -> out.println("  index " + i));
        t.details().constraints().forEach(c -> out.println("  constraint " + c));
        out.println("  grants " + (t.details().grants() == null ? "(owner only)" : t.details().grants())
                + (t.partitions().isEmpty() || t.partitions().get(0).reloptions().isEmpty() ? ""
                        : "; storage of " + t.partitions().get(0).name() + ": " + t.partitions().get(0).reloptions()));
        out.printf("%-4s %-32s %-58s %12s %10s %10s %10s%n", "#", "partition", "bound", "rows (est.)", "heap", "indexes", "total");
        int i = 1;
        for (Partition p : plan.partitions()) {
            out.printf("%-4d %-32s %-58s %12s %10s %10s %10s%n", i++, p.name(), p.bound(),
                    p.rowsEstimate() < 0 ? "?" : String.valueOf(p.rowsEstimate()), Bytes.format(p.heapBytes()),
                    Bytes.format(p.indexBytes()), Bytes.format(p.totalBytes()));
        }
        out.printf("Total: %d partitions, ~%d rows, %s; estimated peak extra disk with %d worker(s): %s%n",
                plan.partitions().size(), plan.rowsEstimate(), Bytes.format(plan.totalBytes()), def.workers(),
                Bytes.format(plan.estimatedPeakExtraBytes()));
        checks(out, plan);
    }

    static void checks(PrintStream out, Plan plan) {
        out.println("Preconditions:");
        for (Plan.Check c : plan.checks()) {
            out.printf("  [%s] %s: %s%n", c.ok() ? "ok" : c.nothingToDo() ? "done already" : "FAILED", c.name(), c.detail());
        }
    }
}
