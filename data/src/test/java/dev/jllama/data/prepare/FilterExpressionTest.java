package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How a --where expression becomes counted clauses and drawn thresholds (the parser alone, no Spark job). */
class FilterExpressionTest {

    @Test
    void splitsTopLevelAndsButNotBetweenAndFindsTheThresholds() {
        FilterExpression f = FilterExpression.of(new QualityFilter(100, 0.25),
                "words BETWEEN 50 AND 100000 AND (stop_words >= 2 OR lines > 3) and not lorem_ipsum", 0.5);
        assertEquals(List.of("chars >= 100", "symbol_ratio <= 0.25", "words BETWEEN 50 AND 100000",
                "(stop_words >= 2 OR lines > 3)", "not lorem_ipsum", "quality_score >= 0.5"),
                f.clauses().stream().map(FilterExpression.Clause::sql).toList());
        assertEquals(List.of("--min-chars", "--max-symbol-ratio", "--where", "--where", "--where", "--min-quality"),
                f.clauses().stream().map(FilterExpression.Clause::option).toList());
        assertEquals(Set.of(50.0, 100000.0), f.thresholds().get("words"));
        assertEquals(Set.of(2.0), f.thresholds().get("stop_words"));
        assertEquals(Set.of(100.0), f.thresholds().get("chars"));
        assertEquals(Set.of(0.5), f.thresholds().get("quality_score"));
    }

    @Test
    void aSyntaxErrorIsOneLineNamingTheOption() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FilterExpression.of(new QualityFilter(0, 1), "words >", Double.NaN));
        assertTrue(e.getMessage().startsWith("--where 'words >': ") && !e.getMessage().contains("\n"), e.getMessage());
    }
}
