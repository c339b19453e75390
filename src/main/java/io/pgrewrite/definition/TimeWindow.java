package io.pgrewrite.definition;

import java.time.LocalTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Clock times of every day, {@code "22:00-06:00"}: from (inclusive) to (exclusive), across midnight when
 * {@code to} is not after {@code from}. Read in the job's zone ({@code schedule.zone}, else UTC).
 */
public record TimeWindow(LocalTime from, LocalTime to) {

    static final String FORMAT = "give clock times HH:MM-HH:MM, e.g. \"22:00-06:00\" (across midnight) or \"01:00-05:30\"";
    private static final Pattern TEXT = Pattern.compile("\\s*([0-9]{1,2}:[0-9]{2})\\s*-\\s*([0-9]{1,2}:[0-9]{2})\\s*");

    public TimeWindow {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
    }

    /** Whether {@code now} (in the window's zone) is inside. */
    public boolean contains(ZonedDateTime now) {
        LocalTime t = now.toLocalTime();
        if (from.equals(to)) {
            return true; // the whole day
        }
        return from.isBefore(to) ? !t.isBefore(from) && t.isBefore(to) : !t.isBefore(from) || t.isBefore(to);
    }

    /** As written in a job definition: {@code 22:00-06:00}. */
    @Override
    public String toString() {
        return from + "-" + to;
    }

    static TimeWindow parse(String text) throws Values.Invalid {
        Matcher m = TEXT.matcher(text);
        if (!m.matches()) {
            throw new Values.Invalid(FORMAT);
        }
        try {
            return new TimeWindow(time(m.group(1)), time(m.group(2)));
        } catch (DateTimeParseException e) {
            throw new Values.Invalid("there is no such time of day; " + FORMAT);
        }
    }

    private static LocalTime time(String hhmm) {
        return LocalTime.parse(hhmm.length() == 4 ? "0" + hhmm : hhmm);
    }
}
