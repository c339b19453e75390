package io.pgrewrite.definition;

/** What happens to a partition's old copy ({@code P__old}) once the rewritten one has been swapped in. */
public enum Retire {

    /** Drop it as soon as the swap has committed. */
    DROP("drop"),
    /** Keep it, detached, for the operator to inspect and drop. */
    KEEP("keep");

    private final String yamlName;

    Retire(String yamlName) {
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
    public static Retire fromYaml(String name) {
        for (Retire retire : values()) {
            if (retire.yamlName.equals(name)) {
                return retire;
            }
        }
        throw new IllegalArgumentException("unknown retire choice '" + name + "'; allowed: drop, keep");
    }
}
