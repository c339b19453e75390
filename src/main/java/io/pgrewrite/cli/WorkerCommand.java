package io.pgrewrite.cli;

import java.io.PrintStream;
import java.time.Duration;

import javax.sql.DataSource;

import io.pgrewrite.remote.Worker;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.transaction.PlatformTransactionManager;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "worker", description = "Run partitions sent by `pgrewrite run --remote`, from any host; needs only the database.")
final class WorkerCommand extends DbCommand {

    @Option(names = "--threads", defaultValue = "1", description = "Partitions this process runs at once (default: ${DEFAULT-VALUE}); the job's `workers` caps all processes together")
    int threads;

    @Option(names = "--max-idle", converter = DurationConverter.class, description = "Exit after this long without work (default: run until SIGTERM)")
    Duration maxIdle;

    @Override
    int poolSize() {
        return threads * 4 + 4;
    }

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        Worker worker = new Worker(ctx.getBean(DataSource.class), ctx.getBean(JobRepository.class), ctx.getBean(JobOperator.class),
                ctx.getBean(PlatformTransactionManager.class));
        Thread main = Thread.currentThread();
        Thread hook = new Thread(() -> {
            worker.stop(); // SIGTERM: take no more requests; running partitions finish
            try {
                main.join();
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "worker-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        worker.run(threads, maxIdle);
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running: it waits for us
        }
        return ExitCodes.OK;
    }
}
