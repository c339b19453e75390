package io.pgrewrite.pg;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * A job definition's expression ends up inside a trigger function's body: whatever it contains, the
 * body's dollar quote ends where pgrewrite put its end, and the function runs as pgrewrite's role with
 * a pinned search_path.
 */
class FunctionBodiesTest {

    @Test
    void theTagIsOneTheBodyCannotClose() {
        assertThat(FunctionBodies.dollarQuote("BEGIN END")).isEqualTo("$pgrw$BEGIN END$pgrw$");
        assertThat(FunctionBodies.dollarQuote("x := '$pgrw$'; y := '$pgrw1$'")).startsWith("$pgrw2$").endsWith("$pgrw2$");
        // ...$pgrw followed by $pgrw$ would close one character early
        assertThat(FunctionBodies.dollarQuote("x := 1 -- $pgrw")).startsWith("$pgrw1$");
        assertThat(FunctionBodies.searchPath()).isEqualTo("pg_catalog, pg_temp");
    }

    @Test
    void aBodyHoldingTheUsualTagStillCompilesAndRunsAsItsOwner() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("function_bodies");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (v text)");
            st.execute(FunctionBodies.triggerFunction("public.f", FunctionBodies.searchPath(),
                    "BEGIN NEW.v := '$pgrw$' || current_user || ' ' || current_setting('search_path'); RETURN NEW; END"));
            st.execute("CREATE TRIGGER f BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.f()");
            st.execute("GRANT INSERT, SELECT ON public.t TO " + TestDatabase.APP);
        }
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            st.execute("INSERT INTO public.t VALUES ('x')");
            try (ResultSet rs = st.executeQuery("SELECT v FROM public.t")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("$pgrw$" + TestDatabase.OWNER + " pg_catalog, pg_temp");
            }
        }
    }
}
