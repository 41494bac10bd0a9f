package dev.jllama.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which merged strings may become pieces, as SentencePiece's IsValidSentencePiece decides. */
class PieceValidatorTest {
    private static final PieceValidator LLAMA = new PieceValidator(BpeTrainerOptions.llama(1000));

    private static void assertValidity(PieceValidator v, Map<String, Boolean> cases) {
        cases.forEach((piece, valid) -> assertEquals(valid, v.isValid(piece.codePoints().toArray()), "'" + piece + "'"));
    }

    @Test
    void whitespaceOnlyAsAPrefixOrAWholePiece() {
        assertValidity(LLAMA, Map.of("▁the", true, "the▁", false, "▁a▁b", false, "▁▁▁", true, "▁", true, "", false));
        PieceValidator noWhitespaceRuns = new PieceValidator(new BpeTrainerOptions(1000, 16, 4192, true, true, false, true));
        assertValidity(noWhitespaceRuns, Map.of("▁", true, "▁▁", false, "▁x", true));
    }

    @Test
    void lengthAndForbiddenCharacters() {
        assertValidity(LLAMA, Map.of("a".repeat(16), true, "a".repeat(17), false, "a\tb", false, "a\u0000", false,
                "x\u2585", false));
    }

    @Test
    void digitsStandAloneWhenSplit() {
        assertValidity(LLAMA, Map.of("1", true, "12", false, "a1", false, "\uff11\uff12", false, "\uff11", true, "▁7", false));
        PieceValidator joined = new PieceValidator(new BpeTrainerOptions(1000, 16, 4192, false, true, true, true));
        assertValidity(joined, Map.of("12", true, "\uff11\uff12", true, "▁2024", true));
    }

    @Test
    void oneScriptPerPiece() {
        assertValidity(LLAMA, Map.ofEntries(
                Map.entry("ab", true), Map.entry("a\u0431", false), Map.entry("a!", false), Map.entry("!?", true),
                Map.entry("\u30ab\u306a", true), Map.entry("\u6f22\u304b", true), Map.entry("\u30ab\u30fc", true),
                Map.entry("a\u30fc", false), Map.entry("e\u0301t\u00e9", true), Map.entry("\u0301a", true),
                Map.entry("\u0378!", true), Map.entry("\u0378a", false)));
        PieceValidator anyScript = new PieceValidator(new BpeTrainerOptions(1000, 16, 4192, true, false, true, true));
        for (String mixed : List.of("a\u0431", "a!", "a\u30fc")) assertEquals(true, anyScript.isValid(mixed.codePoints().toArray()), mixed);
    }
}
