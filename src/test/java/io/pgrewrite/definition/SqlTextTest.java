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
        "k -- ; a comment\n",
        "k /* ; /* nested ; */ ; */",
        "k /* ' */ || ';'",
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
        "k /* ' */ ; drop|10",
        "k -- '\\n; drop|7",
        "k /* /* */ */;|13",
    })
    void statementEnd(String sql, int index) {
        assertThat(SqlText.statementEnd(sql.replace("\\n", "\n"))).isEqualTo(index);
    }

    /** What would leave the expression's slot: parentheses out of balance, a quote or comment left open. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "k) AS text) FROM t UNION SELECT CAST((k|the ')' at position 2 closes a parenthesis the text did not open",
        "coalesce(k|the '(' at position 9 is never closed",
        "k /* rest|the quote or comment that starts at position 3 is never closed",
        "'abc|the quote or comment that starts at position 1 is never closed",
        "$x$ abc|the quote or comment that starts at position 1 is never closed",
    })
    void leavesItsSlot(String sql, String problem) {
        assertThat(SqlText.problem(sql)).isEqualTo(problem);
    }
}
