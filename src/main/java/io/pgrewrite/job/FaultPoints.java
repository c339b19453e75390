package io.pgrewrite.job;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Named points where the restart tests kill the process (kill -9) at a known moment: with
 * {@code -Dpgrewrite.test.pause-at=<point>} the first thread to reach that point prints
 * {@code PGREWRITE-PAUSED <point> <partition>} and blocks forever, and the test kills the JVM.
 * Without the property this does nothing.
 */
public final class FaultPoints {

    public static final String PROPERTY = "pgrewrite.test.pause-at";
    private static final AtomicBoolean PAUSED = new AtomicBoolean();

    private FaultPoints() {
    }

    public static void reach(String point, String partition) {
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
}
