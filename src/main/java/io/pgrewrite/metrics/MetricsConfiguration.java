package io.pgrewrite.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.config.MeterFilter;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Keeps tag cardinality flat: Spring Batch names the worker steps {@code rewrite:<partition>}. */
@Configuration(proxyBeanMethods = false)
public class MetricsConfiguration {

    @Bean
    MeterFilter partitionOutOfStepNames() {
        return PARTITION_OUT_OF_STEP_NAMES;
    }

    /** A tag whose key names a step ({@code spring.batch.step.name}, …) loses the {@code :<partition>} suffix. */
    public static final MeterFilter PARTITION_OUT_OF_STEP_NAMES = new MeterFilter() {
        @Override
        public Meter.Id map(Meter.Id id) {
            boolean changed = false;
            java.util.List<Tag> tags = new java.util.ArrayList<>();
            for (Tag t : id.getTagsAsIterable()) {
                if (t.getKey().endsWith("step.name") && t.getValue().indexOf(':') > 0) {
                    tags.add(Tag.of(t.getKey(), t.getValue().substring(0, t.getValue().indexOf(':'))));
                    changed = true;
                } else {
                    tags.add(t);
                }
            }
            return changed ? id.replaceTags(tags) : id;
        }
    };
}
