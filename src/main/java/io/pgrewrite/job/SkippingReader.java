package io.pgrewrite.job;

import java.util.function.BooleanSupplier;

import io.pgrewrite.copy.KeyRange;
import io.pgrewrite.copy.KeyRangeReader;
import org.springframework.batch.infrastructure.item.ExecutionContext;
import org.springframework.batch.infrastructure.item.ItemStreamReader;

/** The copy's reader, but reading nothing once the partition was swapped (a restart after the swap). */
final class SkippingReader implements ItemStreamReader<KeyRange> {

    private final KeyRangeReader delegate;
    private final BooleanSupplier skip;
    private boolean skipping;

    SkippingReader(KeyRangeReader delegate, BooleanSupplier skip) {
        this.delegate = delegate;
        this.skip = skip;
    }

    @Override
    public void open(ExecutionContext ctx) {
        skipping = skip.getAsBoolean();
        if (!skipping) {
            delegate.open(ctx);
        }
    }

    @Override
    public KeyRange read() {
        return skipping ? null : delegate.read();
    }

    @Override
    public void update(ExecutionContext ctx) {
        if (!skipping) {
            delegate.update(ctx);
        }
    }
}
