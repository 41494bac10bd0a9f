package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The per-document rules of the preparation job, without Spark: keys, split draws, filters, counts, options. */
class DocumentRulesTest {

    @Test
    void keyAndSplitDrawComeFromTheSha256OfTheUtf8Text() {
        byte[] sha = DocumentHash.sha256("abc");
        assertEquals("ba7816bf8f01cfea414140de5dae2223", DocumentHash.key(sha));
        assertEquals(0.6875515961056332, DocumentHash.splitDraw(sha), 0.0);
        Doc cafe = Doc.of(new Document("s", "f", "café"));
        assertEquals("850f7dc43910ff890f8879c0ed26fe69", cafe.key(), "UTF-8, not UTF-16 or Latin-1");
        assertEquals(cafe.key(), cafe.withText("other").key(), "the key stays with the document");
        byte[] ones = new byte[32];
        Arrays.fill(ones, (byte) 0xFF);
        assertTrue(DocumentHash.splitDraw(ones) < 1.0, "draws stay below 1");
        assertEquals(0.0, DocumentHash.splitDraw(new byte[32]), 0.0);
    }

    @Test
    void qualityFilterJudgesLengthInCodePointsThenSymbols() {
        QualityFilter f = new QualityFilter(10, 0.25);
        assertEquals(QualityFilter.Verdict.TOO_SHORT, f.judge("short one"));
        assertEquals(QualityFilter.Verdict.KEEP, f.judge("ten chars!"));
        assertEquals(QualityFilter.Verdict.TOO_SHORT, f.judge("\ud83d\ude80".repeat(9)), "9 code points, 18 chars");
        assertEquals(QualityFilter.Verdict.TOO_SYMBOLIC, f.judge("#### $$$$ %%%% text"));
        // Whitespace does not count; combining marks count as letters; digits are not symbols.
        assertEquals(0.25, QualityFilter.symbolRatio("ab c!"), 0.0);
        assertEquals(0.0, QualityFilter.symbolRatio("e\u0301te\u0301 12 \u0915\u093e"), 0.0);
        assertEquals(0.0, QualityFilter.symbolRatio(" \t\n"), 0.0);
        assertEquals(1.0, QualityFilter.symbolRatio("<>{}"), 0.0);
        assertEquals(QualityFilter.Verdict.KEEP, new QualityFilter(0, 0.25).judge("a b c ;"), "exactly at the ratio is kept");
        assertEquals(QualityFilter.Verdict.TOO_SYMBOLIC, new QualityFilter(0, 0.25).judge("a b ;"));
        assertEquals(QualityFilter.Verdict.TOO_SYMBOLIC, new QualityFilter(0, 0).judge("ab!"), "ratio 0 allows no symbol");
        assertEquals(QualityFilter.Verdict.KEEP, new QualityFilter(0, 1).judge("!!!"), "ratio 1 allows only symbols");
        assertThrows(IllegalArgumentException.class, () -> new QualityFilter(-1, 0.5));
        assertThrows(IllegalArgumentException.class, () -> new QualityFilter(0, 1.5));
        assertThrows(IllegalArgumentException.class, () -> new QualityFilter(0, Double.NaN));
    }

    @Test
    void defaultPartitionsFillWholeWavesOfTaskSlots() {
        long mb64 = 64L << 20;
        assertEquals(2, PrepareJob.defaultPartitions(2, 10_000_000), "at least the slots");
        assertEquals(2, PrepareJob.defaultPartitions(2, 2 * mb64));
        assertEquals(4, PrepareJob.defaultPartitions(2, 2 * mb64 + 1), "3 by size, rounded up to 2 waves of 2");
        assertEquals(8, PrepareJob.defaultPartitions(2, 7 * mb64));
        assertEquals(9, PrepareJob.defaultPartitions(3, 7 * mb64));
        assertEquals(16, PrepareJob.defaultPartitions(16, 7 * mb64));
    }

    @Test
    void symbolRatioEqualsClassifyingEveryCodePoint() {
        java.util.Random r = new java.util.Random(3);
        int[] cps = "a Z9\t\n!<_\u00a0\u00e9\u0301\u093e\u0915\u20ac\u2003\ud83d\ude80\ud800\u0663".codePoints().toArray();
        for (int n = 0; n < 3000; n++) {
            StringBuilder b = new StringBuilder();
            int len = r.nextInt(20);
            for (int i = 0; i < len; i++) b.appendCodePoint(cps[r.nextInt(cps.length)]);
            String text = b.toString();
            long visible = text.codePoints().filter(cp -> !Character.isWhitespace(cp) && !Character.isSpaceChar(cp)).count();
            long symbols = text.codePoints().filter(cp -> !Character.isWhitespace(cp) && !Character.isSpaceChar(cp)
                    && !Character.isLetterOrDigit(cp) && Character.getType(cp) != Character.NON_SPACING_MARK
                    && Character.getType(cp) != Character.COMBINING_SPACING_MARK).count();
            assertEquals(visible == 0 ? 0 : (double) symbols / visible, QualityFilter.symbolRatio(text), 0.0, text);
            QualityFilter f = new QualityFilter(8, 0.5);
            boolean shortText = text.codePointCount(0, text.length()) < 8;
            assertEquals(shortText, f.judge(text) == QualityFilter.Verdict.TOO_SHORT, text);
        }
    }

    @Test
    void countsSumEveryVerdict() {
        Doc doc = Doc.of(new Document("s", "f", "twelve chars"));
        List<Judged> judged = List.of(
                new Judged(doc, QualityFilter.Verdict.KEEP, false, 3, 1),
                new Judged(doc, QualityFilter.Verdict.TOO_SHORT, false, 1, 0),
                new Judged(doc, QualityFilter.Verdict.TOO_SYMBOLIC, false, 2, 0),
                new Judged(doc.withText(""), QualityFilter.Verdict.TOO_SHORT, true, 2, 2),
                new Judged(doc, QualityFilter.Verdict.FILTERED, false, 1, 0));
        Counts total = new Counts();
        for (Judged j : judged) total = total.plus(j.counts());
        assertEquals(List.of(true, false, false, false, false), judged.stream().map(Judged::kept).toList());
        assertEquals(5, total.documents);
        assertEquals(Map.of("lines", 9L, "lines_removed_as_repeats", 3L, "documents_emptied_by_line_removal", 1L,
                "documents_too_short", 1L, "documents_too_symbolic", 1L, "documents_removed_by_where", 1L,
                "documents_kept", 1L, "characters_kept", 12L), total.toMap());
    }

    @Test
    void optionsNeedExactlyOneTokenizerSourceAndSaneValues() {
        List<String> in = List.of("in.txt");
        PrepareOptions o = PrepareOptions.withTrainedTokenizer(in, "out", 300);
        assertEquals(PrepareOptions.DEFAULT_VAL_FRACTION, o.valFraction());
        assertEquals(PrepareOptions.DEFAULT_SHARD_TOKENS, o.shardTokens());
        assertEquals(PrepareOptions.DEFAULT_LINE_DUP_THRESHOLD, o.lineDupThreshold());
        assertEquals(new QualityFilter(100, 0.25), o.quality());
        assertEquals(0, o.partitions());
        PrepareOptions changed = o.valFraction(0.5).shardTokens(9).lineDupThreshold(0).partitions(3).output("elsewhere")
                .quality(new QualityFilter(1, 1));
        assertEquals(List.of(0.5, 9L, 0, 3, "elsewhere", 300), List.of(changed.valFraction(), changed.shardTokens(),
                changed.lineDupThreshold(), changed.partitions(), changed.output(), changed.vocabSize()));
        assertEquals("t.model", PrepareOptions.withTokenizerFile(in, "out", "t.model").tokenizerFile());
        assertEquals(Tokenizer.bundled(), PrepareOptions.withTokenizer(in, "out", Tokenizer.bundled()).tokenizer());
        assertEquals(2, o.shardTokens(2).shardTokens(), "the smallest shard: one window of one token and its target");
        assertThrows(IllegalArgumentException.class, () -> new PrepareOptions(in, "out", "t.model", null, 300, 0.01, 10, 2,
                PrepareOptions.DEFAULT_QUALITY, 0, "text", null, true, null, List.of(), 13, null, null, null, Double.NaN, List.of(), null, true), "two tokenizer sources");
        assertThrows(IllegalArgumentException.class, () -> new PrepareOptions(in, "out", null, null, 0, 0.01, 10, 2,
                PrepareOptions.DEFAULT_QUALITY, 0, "text", null, true, null, List.of(), 13, null, null, null, Double.NaN, List.of(), null, true), "no tokenizer source");
        assertThrows(IllegalArgumentException.class, () -> PrepareOptions.withTrainedTokenizer(List.of(), "out", 300));
        assertThrows(IllegalArgumentException.class, () -> PrepareOptions.withTrainedTokenizer(in, " ", 300));
        assertThrows(IllegalArgumentException.class, () -> o.valFraction(1.0));
        assertThrows(IllegalArgumentException.class, () -> o.valFraction(-0.1));
        assertThrows(IllegalArgumentException.class, () -> o.shardTokens(1));
        assertThrows(IllegalArgumentException.class, () -> o.lineDupThreshold(-1));
        assertThrows(IllegalArgumentException.class, () -> o.partitions(-1));
        assertThrows(IllegalArgumentException.class, () -> o.quality(null));
        assertEquals(List.of("text", true, NearDedupOptions.DEFAULT, List.of(), 13),
                List.of(o.textColumn(), o.exactDedup(), o.nearDedup(), o.decontaminate(), o.decontaminationNgram()),
                "both deduplications on by default, no decontamination");
        assertThrows(IllegalArgumentException.class, () -> o.columns(" ", null));
        assertThrows(IllegalArgumentException.class, () -> o.decontaminate(List.of("t.jsonl"), 0));
        assertThrows(IllegalArgumentException.class, () -> new NearDedupOptions(5, 14, 8, 0));
        assertThrows(IllegalArgumentException.class, () -> new NearDedupOptions(0, 14, 8, 0.8));
        assertEquals(0.719, NearDedupOptions.DEFAULT.candidateMidpoint(), 0.001);
        assertFalse(o.valFraction(0).valFraction() > 0, "0 turns the validation split off");
    }
}
