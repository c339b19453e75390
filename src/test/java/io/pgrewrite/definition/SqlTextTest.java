package io.pgrewrite.definition;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** A ';' that would end the statement is found; one inside quotes is not. */
class SqlTextTest {

    @ParameterizedTest
    @ValueSource(strings = {
        "md5(kenteken)",
        "'a;b'",
        "'it''s;'",
        "E'it\\'s;'",
        "\"odd;column\"",
        "$$;$$",
        "$fn$ ; $fn$",
        "coalesce($1, a$b)",
        "some'x;'",
    })
    void noStatementEnd(String sql) {
        assertThat(SqlText.statementEnd(sql)).isEqualTo(-1);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "1; drop table t|1",
        "'a';b|3",
        "\"a\";|3",
        "$$x$$;|5",
        "'it''s';|7",
        "'a\\';'|4",
    })
    void statementEnd(String sql, int index) {
        assertThat(SqlText.statementEnd(sql)).isEqualTo(index);
    }
}
