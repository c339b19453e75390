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

    @picocli.CommandLine.Option(names = "--http-port", description = "Serve the dashboard, /actuator/health and /actuator/prometheus on this port (0 picks a free one)")
    Integer httpPort;

    @Override
    java.util.Map<String, Object> properties() {
        return Dashboard.properties(httpPort);
    }

    @Override
    int poolSize() {
        return threads * 5 + 4; // one per thread for its retire in the background
    }

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        Dashboard.announce(ctx, httpPort, err);
        Worker worker = new Worker(ctx.getBean(DataSource.class), ctx.getBean(JobRepository.class), ctx.getBean(JobOperator.class),
                ctx.getBean(PlatformTransactionManager.class));
        // SIGTERM: take no more requests, let running partitions finish, then let the JVM go. The hook
        // waits for the work, not for this thread: this thread ends in System.exit, which waits for hooks.
        java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(1);
        Thread hook = new Thread(() -> {
            worker.stop();
            try {
                finished.await();
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "worker-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            worker.run(threads, maxIdle);
        } finally {
            finished.countDown();
        }
        return ExitCodes.OK;
    }
}
