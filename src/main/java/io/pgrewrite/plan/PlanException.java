package io.pgrewrite.plan;

/** A precondition failed: nothing was changed. The message names the object and what to do next. */
public class PlanException extends RuntimeException {

    private final transient Plan plan;

    public PlanException(String message, Plan plan) {
        super(message);
        this.plan = plan;
    }

    /** True when every failed check says the change is already made: nothing to do, not a blocker. */
    public boolean nothingToDo() {
        return plan != null && plan.checks().stream().filter(c -> !c.ok()).allMatch(Plan.Check::nothingToDo)
                && plan.checks().stream().anyMatch(c -> !c.ok());
    }

    /** The plan as far as it got (for printing the checks), or null when the table was not found. */
    public Plan plan() {
        return plan;
    }
}
