package io.pgrewrite.job;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Named points where the restart tests kill the process (kill -9) at a known moment: with
 * {@code -Dpgrewrite.test.pause-at=<point>} the first thread to reach that point prints
 * {@code PGREWRITE-PAUSED <point> <partition>} and blocks forever, and the test kills the JVM.
 * Without the property this does nothing.
 * <p>
 * With {@code -Dpgrewrite.test.announce-at=<point>} the first thread there prints
 * {@code PGREWRITE-REACHED <point> <partition>}, waits {@code pgrewrite.test.announce-ms} (default 1000) so
 * the test can stop the JVM right there (kill -STOP), and then goes on as if nothing happened.
 * <p>
 * With {@code -Dpgrewrite.test.hold-snapshot-at=<point>} the first statement there prints
 * {@code PGREWRITE-HOLDING <point> <partition>} and then sleeps {@code pgrewrite.test.hold-ms} (default 3000)
 * inside the statement, after its snapshot was taken and before it reads: the test commits a change in that window,
 * which a statement otherwise meets only by a race of microseconds.
 */
public final class FaultPoints {

    public static final String PROPERTY = "pgrewrite.test.pause-at";
    public static final String ANNOUNCE = "pgrewrite.test.announce-at";
    private static final AtomicBoolean PAUSED = new AtomicBoolean();
    private static final AtomicBoolean ANNOUNCED = new AtomicBoolean();
    public static final String HOLD_SNAPSHOT = "pgrewrite.test.hold-snapshot-at";
    private static final AtomicBoolean HELD = new AtomicBoolean();

    private FaultPoints() {
    }

    public static void reach(String point, String partition) {
        if (point.equals(System.getProperty(ANNOUNCE)) && ANNOUNCED.compareAndSet(false, true)) {
            System.out.println("PGREWRITE-REACHED " + point + " " + partition);
            System.out.flush();
            try {
                Thread.sleep(Long.getLong("pgrewrite.test.announce-ms", 1000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        String at = System.getProperty(PROPERTY);
        if (at == null || !at.equals(point) || !PAUSED.compareAndSet(false, true)) {
            return;
        }
        System.out.println("PGREWRITE-PAUSED " + point + " " + partition);
        System.out.flush();
        try {
            Thread.sleep(Long.MAX_VALUE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * How long the statement at {@code point} sleeps after its snapshot, in milliseconds: 0 (the statement runs as
     * it is) unless {@code -Dpgrewrite.test.hold-snapshot-at} names this point and this is the first time it is reached.
     */
    public static long holdSnapshotMs(String point, String partition) {
        if (!point.equals(System.getProperty(HOLD_SNAPSHOT)) || !HELD.compareAndSet(false, true)) {
            return 0;
        }
        System.out.println("PGREWRITE-HOLDING " + point + " " + partition);
        System.out.flush();
        return Long.getLong("pgrewrite.test.hold-ms", 3000);
    }
}
