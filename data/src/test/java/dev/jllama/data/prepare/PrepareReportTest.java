package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Every stage's tokens from those kept to the end and those each later stage removed. */
class PrepareReportTest {

    private static SourceCounts counts(long a, long b) {
        Map<String, long[]> m = new TreeMap<>();
        if (a > 0) m.put("a", new long[] {a, 100 * a, 0});
        if (b > 0) m.put("b", new long[] {b, 100 * b, 0});
        return new SourceCounts(m);
    }

    private static long tokens(Map<String, Object> bySource, String source, String stage) {
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> after = (Map<String, Map<String, Object>>) ((Map<String, Object>) bySource.get(source))
                .get("after_stage");
        return ((Number) after.get(stage).get("tokens")).longValue();
    }

    @Test
    void stagesTokensAddWhatEachLaterStageRemovedToWhatWasKept() {
        PrepareReport r = new PrepareReport();
        r.countsTokens(true);
        r.stage("read", counts(5, 2));
        r.stage("cleanup", counts(4, 2)); // an empty document: no tokens
        r.stage("exact_dedup", counts(3, 1));
        r.removedTokens("exact_dedup", Map.of("a", 30L, "b", 7L));
        r.stage("quality_filter", counts(2, 0)); // all of b gone
        r.removedTokens("quality_filter", Map.of("a", 11L, "b", 5L));
        r.keptTokens(Map.of("a", 50L));
        Map<String, Object> s = r.bySource();
        assertEquals(50, tokens(s, "a", "quality_filter"));
        assertEquals(61, tokens(s, "a", "exact_dedup"));
        assertEquals(91, tokens(s, "a", "cleanup"));
        assertEquals(91, tokens(s, "a", "read"));
        assertEquals(5, tokens(s, "b", "exact_dedup"));
        assertEquals(12, tokens(s, "b", "read"));
        assertEquals(91L, ((Map<?, ?>) s.get("a")).get("tokens_in"));
    }

    @Test
    void tokensOfASourceAStageLetNoDocumentOfThroughAreAnError() {
        PrepareReport r = new PrepareReport();
        r.countsTokens(true);
        r.stage("read", counts(2, 1));
        r.stage("quality_filter", counts(2, 0));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.keptTokens(Map.of("a", 9L, "b", 4L)));
        assertEquals("stage quality_filter let through 0 documents of source b with 4 tokens", e.getMessage());
    }
}
