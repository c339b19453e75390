package io.pgrewrite.definition;

import io.pgrewrite.definition.Values.Invalid;
import io.pgrewrite.definition.Values.Parser;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations ({@code 200ms}, {@code 4h}) and sizes ({@code 20GB}): a whole number and a unit. */
final class Quantities {

    static final String DURATION_FORMAT = "give a whole number with a unit ms, s, m, h or d, e.g. 200ms, 5s or 4h";
    static final String SIZE_FORMAT =
            "give a whole number of bytes with an optional unit B, kB, MB, GB or TB (powers of 1024), e.g. 500MB or 20GB";

    private static final Pattern WITH_UNIT = Pattern.compile("([0-9][0-9_]*)\\s*([A-Za-z]*)");
    private static final Map<String, ChronoUnit> TIME_UNITS = Map.of(
            "ms", ChronoUnit.MILLIS, "s", ChronoUnit.SECONDS, "m", ChronoUnit.MINUTES,
            "h", ChronoUnit.HOURS, "d", ChronoUnit.DAYS);
    private static final Map<String, Integer> SIZE_SHIFTS = Map.of("", 0, "b", 0, "kb", 10, "mb", 20, "gb", 30, "tb", 40);

    private Quantities() {
    }

    /**
     * {@code 200ms}, {@code 5s}, {@code 1m}, {@code 4h}, {@code 1d}; a bare number only when it is 0.
     * The bounds are written the same way, and shown as written.
     */
    static Parser<Duration> duration(String min, String max) {
        Duration low = bound(min);
        Duration high = bound(max);
        return text -> {
            Duration value = duration(text);
            if (value.compareTo(low) < 0 || value.compareTo(high) > 0) {
                throw new Invalid("allowed: " + min + " to " + max);
            }
            return value;
        };
    }

    private static Duration duration(String text) throws Invalid {
        Matcher m = WITH_UNIT.matcher(text.strip());
        if (!m.matches()) {
            throw new Invalid(DURATION_FORMAT);
        }
        long amount = number(m.group(1), DURATION_FORMAT);
        if (m.group(2).isEmpty() && amount != 0) {
            throw new Invalid("give a unit, e.g. 200ms or 2s");
        }
        ChronoUnit unit = m.group(2).isEmpty() ? ChronoUnit.MILLIS : TIME_UNITS.get(m.group(2).toLowerCase(Locale.ROOT));
        if (unit == null) {
            throw new Invalid(DURATION_FORMAT);
        }
        try {
            return Duration.of(amount, unit);
        } catch (ArithmeticException e) {
            throw new Invalid("too long; " + DURATION_FORMAT);
        }
    }

    private static Duration bound(String text) {
        try {
            return duration(text);
        } catch (Invalid e) {
            throw new IllegalArgumentException("bad bound " + text, e);
        }
    }

    /** {@code 1234} (bytes), {@code 512kB}, {@code 500MB}, {@code 20GB}, {@code 1TB}; at least one byte. */
    static Long size(String text) throws Invalid {
        Matcher m = WITH_UNIT.matcher(text.strip());
        Integer shift = m.matches() ? SIZE_SHIFTS.get(m.group(2).toLowerCase(Locale.ROOT)) : null;
        if (shift == null) {
            throw new Invalid(SIZE_FORMAT);
        }
        long amount = number(m.group(1), SIZE_FORMAT);
        if (amount == 0) {
            throw new Invalid("give at least 1 byte, or leave the key out for no limit");
        }
        if (amount > (Long.MAX_VALUE >> shift)) {
            throw new Invalid("too large; " + SIZE_FORMAT);
        }
        return amount << shift;
    }

    private static long number(String digits, String whatToGive) throws Invalid {
        try {
            return Long.parseLong(digits.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new Invalid("too large; " + whatToGive);
        }
    }
}
