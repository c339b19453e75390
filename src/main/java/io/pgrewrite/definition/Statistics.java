package io.pgrewrite.definition;

/**
 * When a rewritten partition's statistics are sampled ({@code statistics:}). The VACUUM stays before the
 * swap either way (the partition starts all-visible), and so does PostgreSQL 18's copy of the unchanged
 * columns' statistics.
 */
public enum Statistics {

    /**
     * ANALYZE the partition after its swap, in the background on a connection of its own, while the worker
     * copies the next partition (at most one outstanding per worker); contract and the job's end wait for it.
     */
    AFTER_SWAP("after-swap"),
    /** ANALYZE the copy before its swap, in the worker's own time: the swapped-in partition has statistics at once. */
    BEFORE_SWAP("before-swap");

    private final String yamlName;

    Statistics(String yamlName) {
        this.yamlName = yamlName;
    }

    public String yamlName() {
        return yamlName;
    }

    /**
     * The choice spelled {@code name} in a job definition.
     *
     * @throws IllegalArgumentException naming the allowed spellings when there is none
     */
    public static Statistics fromYaml(String name) {
        for (Statistics s : values()) {
            if (s.yamlName.equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown statistics choice '" + name + "'; allowed: after-swap, before-swap");
    }
}
