package dev.jllama.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import dev.jllama.data.SparkTestSession;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

/** Training: Spark word counting, driver merges, and the model's layout and behaviour, without Python. */
class BpeTrainerTest {
    static final List<String> DOCS = List.of(
            "the cat sat on the mat\nthe cat ate the rat",
            "a hat on the cat\n\nthe rat sat in the hat 2024 times",
            "naïve café 東京 東京 the end");
    private final JavaSparkContext spark = SparkTestSession.get();

    static Map<String, Long> countLocally(List<String> docs) {
        Map<String, Long> counts = new HashMap<>();
        Normalizer n = BpeTrainer.trainingNormalizer();
        for (String doc : docs)
            for (String line : doc.split("\n", -1))
                for (String w : BpeTrainer.splitIntoWords(n.normalize(line), true)) counts.merge(w, 1L, Long::sum);
        return counts;
    }

    @Test
    void sparkCountsMatchLocalCounts() {
        Map<String, Long> counts = BpeTrainer.countWords(spark.parallelize(DOCS, 3), BpeTrainerOptions.llama(300));
        assertEquals(countLocally(DOCS), new HashMap<>(counts));
        assertEquals(8L, counts.get("▁the"));
        assertEquals(1L, counts.get("▁2024"));
    }

    @Test
    void splitsWordsLikeSentencePiece() {
        assertEquals(List.of("▁a", "▁b"), BpeTrainer.splitIntoWords("▁a▁b", true));
        assertEquals(List.of("▁▁▁a", "▁b"), BpeTrainer.splitIntoWords("▁▁▁a▁b", true));
        assertEquals(List.of("▁", "▁", "▁a", "▁b"), BpeTrainer.splitIntoWords("▁▁▁a▁b", false));
        assertEquals(List.of("x", "▁y"), BpeTrainer.splitIntoWords("x▁y", true));
    }

    @Test
    void modelLayoutScoresAndFirstMerges() {
        Tokenizer tok = BpeTrainer.train(spark.parallelize(DOCS, 2), BpeTrainerOptions.llama(300));
        assertEquals("<unk>", tok.piece(0));
        assertEquals(PieceType.UNKNOWN, tok.type(0));
        assertEquals(1, tok.bosId());
        assertEquals(2, tok.eosId());
        assertEquals(-1, tok.padId());
        for (int b = 0; b < 256; b++) {
            assertEquals(String.format("<0x%02X>", b), tok.piece(3 + b));
            assertEquals(PieceType.BYTE, tok.type(3 + b));
        }
        // Most frequent pairs: "at" (11: cat, sat, mat, ate, rat, hat), "▁t" (9: ▁the x8, ▁times), then
        // "▁t"+"h" and "h"+"e" tie at 8 and the shorter string "he" wins.
        assertEquals(List.of("at", "▁t", "he"), List.of(tok.piece(259), tok.piece(260), tok.piece(261)));
        assertEquals(0.0, tok.score(259), 0.0); // SentencePiece writes -0.0 for rank 0
        assertEquals(-1.0, tok.score(260), 0.0);
        for (int id = 259; id < tok.vocabSize(); id++) {
            assertEquals(-(id - 259), tok.score(id), 0.0, "score of piece " + id + " is minus its rank");
            String p = tok.piece(id);
            assertFalse(p.length() > 1 && p.chars().anyMatch(Character::isDigit), "digits must stay single: " + p);
            assertFalse(p.indexOf('▁', 1) > 0 && !p.chars().allMatch(c -> c == '▁'), "▁ only as prefix: " + p);
        }
        // Every character of the corpus is a piece (coverage 1.0), so no byte fallback on training text.
        int[] ids = tok.encode("naïve café 東京");
        for (int id : ids) assertFalse(tok.type(id) == PieceType.BYTE, "unexpected byte piece in " + java.util.Arrays.toString(ids));
        assertEquals(List.of("▁the", "▁cat"), pieces(tok, tok.encode("the cat")));
        // Unseen characters fall back to bytes and decode back.
        String unseen = "zebra 🚀 the cat";
        assertEquals(unseen, tok.decode(tok.encode(unseen)));
        assertTrue(pieces(tok, tok.encode("🚀")).contains("<0xF0>"));
    }

    @Test
    void trainedModelRoundTripsThroughItsBytes() {
        Tokenizer tok = BpeTrainer.train(spark.parallelize(DOCS, 2), BpeTrainerOptions.llama(300));
        Tokenizer again = Tokenizer.fromBytes(tok.toModelBytes(), "round trip");
        assertEquals(tok.vocabSize(), again.vocabSize());
        for (int id = 0; id < tok.vocabSize(); id++) {
            assertEquals(tok.piece(id), again.piece(id));
            assertEquals(tok.score(id), again.score(id));
            assertEquals(tok.type(id), again.type(id));
        }
        assertEquals("identity", again.spec().normalizerName());
        assertTrue(again.spec().byteFallback());
        assertTrue(again.spec().splitDigits());
        for (String doc : DOCS) {
            assertArrayEquals(tok.encode(doc), again.encode(doc));
            assertEquals(doc.replace("\n\n", "\n"), again.decode(again.encode(doc)).replace("\n\n", "\n"));
        }
    }

    @Test
    void stopsWhenNoPairIsLeftAndRejectsTooSmallVocabularies() {
        Tokenizer tok = BpeTrainer.trainFromCounts(Map.of("▁ab", 3L), BpeTrainerOptions.llama(1000));
        // meta 259 + merges ab (ties "▁a" at 3; 'a' < '▁' in code point order), ▁ab + chars ▁ a b
        assertEquals(259 + 2 + 3, tok.vocabSize());
        assertEquals("ab", tok.piece(259));
        assertEquals("▁ab", tok.piece(260));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BpeTrainer.trainFromCounts(Map.of("▁abcdef", 1L), BpeTrainerOptions.llama(262)));
        assertTrue(e.getMessage().contains("262"), e.getMessage());
    }

    @Test
    void tieBreaksByLengthThenLexicographically() {
        // Pairs ▁a, ab, ▁b, ba all occur twice: "ab" is smallest; then ▁ab (longer) loses to ▁b and ba: "ba".
        Tokenizer tok = BpeTrainer.trainFromCounts(Map.of("▁ab", 2L, "▁ba", 2L), BpeTrainerOptions.llama(265));
        assertEquals(List.of("ab", "ba"), List.of(tok.piece(259), tok.piece(260)));
    }

    @Test
    void optionsRejectMeaninglessLimits() {
        new BpeTrainerOptions(4, 1, 1, true, true, true, true);
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainerOptions(3, 16, 4192, true, true, true, true));
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainerOptions(300, 0, 4192, true, true, true, true));
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainerOptions(300, 16, 0, true, true, true, true));
    }

    static List<String> pieces(Tokenizer tok, int[] ids) {
        List<String> out = new ArrayList<>();
        for (int id : ids) out.add(tok.piece(id));
        return out;
    }
}
