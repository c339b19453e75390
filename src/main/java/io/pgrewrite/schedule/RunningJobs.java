package io.pgrewrite.schedule;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.springframework.stereotype.Component;

/** The jobs this process is running for the scheduler, by job key, so a shutdown can stop them gracefully. */
@Component
public class RunningJobs {

    private final Map<String, io.pgrewrite.definition.JobDefinition> running = new ConcurrentHashMap<>();

    void started(io.pgrewrite.definition.JobDefinition def) {
        running.put(def.jobKey(), def);
    }

    void ended(String jobKey) {
        running.remove(jobKey);
    }

    public java.util.Collection<io.pgrewrite.definition.JobDefinition> definitions() {
        return java.util.List.copyOf(running.values());
    }

    public boolean isEmpty() {
        return running.isEmpty();
    }
}
