package io.pgrewrite.job;

import java.util.function.BooleanSupplier;

import io.pgrewrite.copy.BlockRange;
import io.pgrewrite.copy.BlockRangeReader;
import org.springframework.batch.infrastructure.item.ExecutionContext;
import org.springframework.batch.infrastructure.item.ItemStreamReader;

/** The copy's reader, but reading nothing once the partition was swapped (a restart after the swap). */
final class SkippingReader implements ItemStreamReader<BlockRange> {

    private final BlockRangeReader delegate;
    private final BooleanSupplier skip;
    private boolean skipping;

    SkippingReader(BlockRangeReader delegate, BooleanSupplier skip) {
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
    public BlockRange read() {
        return skipping ? null : delegate.read();
    }

    @Override
    public void update(ExecutionContext ctx) {
        if (!skipping) {
            delegate.update(ctx);
        }
    }
}
