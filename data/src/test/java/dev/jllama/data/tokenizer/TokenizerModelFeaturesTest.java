package dev.jllama.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model features the bundled model does not exercise, accessors, errors and concurrent use. */
class TokenizerModelFeaturesTest {

    static Tokenizer userDefinedModel() throws IOException {
        try (InputStream in = TokenizerModelFeaturesTest.class.getResourceAsStream("spm-bpe-userdef.model")) {
            return Tokenizer.fromBytes(in.readAllBytes(), "spm-bpe-userdef.model");
        }
    }

    @Test
    void sharedTokenizersAreOnePerModel() throws IOException {
        byte[] bundled = Tokenizer.bundled().toModelBytes();
        Tokenizer first = Tokenizer.shared(bundled, "a");
        assertTrue(first == Tokenizer.shared(bundled.clone(), "b"), "equal model bytes give the same tokenizer");
        byte[] other = userDefinedModel().toModelBytes();
        assertTrue(first != Tokenizer.shared(other, "c"), "another model its own");
        assertArrayEquals(Tokenizer.bundled().encode("shared text"), first.encode("shared text"));
        bundled[0] ^= 1; // the cache holds its own copy of the bytes
        assertTrue(first == Tokenizer.shared(Tokenizer.bundled().toModelBytes(), "d"));
    }

    /** No byte fallback (unknown runs merge into one <unk>), user-defined and control pieces, as SentencePiece. */
    @Test
    void userDefinedPiecesAndUnknownRunsMatchSentencePiece() throws IOException {
        Tokenizer tok = userDefinedModel();
        List<JsonNode> cases = TokenizerFixturesTest.lines("spm-bpe-userdef.expected.jsonl");
        assertTrue(cases.size() > 100);
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] ids = tok.encode(text);
            assertArrayEquals(TokenizerFixturesTest.ints(c.get("ids")), ids, () -> "ids of " + text);
            assertEquals(c.get("decoded").asText(), tok.decode(ids), () -> "decode of " + text);
        }
        int sep = indexOf(tok, "<sep>");
        assertEquals(PieceType.USER_DEFINED, tok.type(sep));
        assertEquals(List.of("▁a", "<sep>", "b"), pieces(tok, tok.encode("a<sep>b")));
        assertEquals(PieceType.CONTROL, tok.type(indexOf(tok, "<ctl>")));
    }

    /** SentencePiece's default nmt_nfkc normalization (a precompiled charsmap) with a user-defined piece. */
    @Test
    void charsmapNormalizationMatchesSentencePiece() throws IOException {
        Tokenizer tok;
        try (InputStream in = getClass().getResourceAsStream("spm-bpe-nfkc.model")) {
            tok = Tokenizer.fromBytes(in.readAllBytes(), "spm-bpe-nfkc.model");
        }
        assertEquals("nmt_nfkc", tok.spec().normalizerName());
        List<JsonNode> cases = TokenizerFixturesTest.lines("spm-bpe-nfkc.expected.jsonl");
        assertTrue(cases.size() > 100);
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] ids = tok.encode(text);
            assertArrayEquals(TokenizerFixturesTest.ints(c.get("ids")), ids, () -> "ids of " + text);
            assertEquals(c.get("decoded").asText(), tok.decode(ids), () -> "decode of " + text);
        }
        assertArrayEquals(tok.encode("ABC 123"), tok.encode("ＡＢＣ　１２３"));
    }

    @Test
    void bundledModelAccessors() {
        Tokenizer tok = Tokenizer.bundled();
        assertEquals(4096, tok.vocabSize());
        assertEquals(0, tok.unkId());
        assertEquals(1, tok.bosId());
        assertEquals(2, tok.eosId());
        assertEquals(-1, tok.padId());
        assertEquals("<0x0A>", tok.piece(3 + 10));
        assertEquals(PieceType.BYTE, tok.type(13));
        assertEquals("▁t", tok.piece(259));
        assertEquals(-1.0, tok.score(260), 0.0);
        assertTrue(tok.spec().byteFallback());
        assertEquals("identity", tok.spec().normalizerName());
        assertArrayEquals(tok.toModelBytes(), Tokenizer.fromBytes(tok.toModelBytes(), "copy").toModelBytes());
        assertArrayEquals(new int[0], tok.encode(""));
        assertArrayEquals(new int[0], tok.encode("     "));
        assertEquals("", tok.decode(new int[0]));
        assertEquals("Hello world!", tok.decode(tok.encode("Hello world!")));
    }

    @Test
    void loneSurrogatesEncodeAsReplacementCharacter() {
        Tokenizer tok = Tokenizer.bundled();
        assertArrayEquals(tok.encode("a\uFFFDb"), tok.encode("a\uD800b"));
        assertArrayEquals(tok.encode("\uFFFD x"), tok.encode("\uDC00 x"));
    }

    @Test
    void errorsNameTheirSource(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("missing.model");
        IOException io = assertThrows(IOException.class, () -> Tokenizer.load(missing));
        assertTrue(io.getMessage().contains(missing.toString()), io.getMessage());
        assertTrue(io.getCause() instanceof NoSuchFileException);

        Path garbage = dir.resolve("garbage.model");
        Files.write(garbage, new byte[] {(byte) 0xFF, 0x01, 0x02, 0x03});
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(garbage));
        assertTrue(bad.getMessage().contains(garbage.toString()), bad.getMessage());

        Tokenizer tok = Tokenizer.bundled();
        IllegalArgumentException range = assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {5, 4096}));
        assertTrue(range.getMessage().contains("4096"), range.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tok.piece(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> tok.encodeUtf8(new byte[4], 2, 3));
    }

    @Test
    void rejectsNonBpeModels() {
        ModelSpec unigram = new ModelSpec(List.of(new Piece("<unk>", 0, PieceType.UNKNOWN), new Piece("a", 0, PieceType.NORMAL)),
                1, 2, false, false, false, false, 16, "<unk>", "<s>", "</s>", "<pad>", " \u2047 ", "identity", new byte[0],
                true, true, true);
        byte[] bytes = ModelProtoCodec.write(unigram, 1f, 4192);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromBytes(bytes, "uni.model"));
        assertTrue(e.getMessage().startsWith("uni.model: model_type 1"), e.getMessage());
    }

    @Test
    void concurrentEncodingGivesTheSameIds() throws Exception {
        Tokenizer tok = Tokenizer.bundled();
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 200; i++) texts.add("sentence " + i + " with naïve words and 東京 " + "x".repeat(i % 70));
        List<int[]> expected = texts.stream().map(tok::encode).toList();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> {
                    for (int r = 0; r < 20; r++)
                        for (int i = 0; i < texts.size(); i++)
                            if (!Arrays.equals(expected.get(i), tok.encode(texts.get(i)))) return false;
                    return true;
                }));
            }
            for (Future<Boolean> f : results) assertTrue(f.get());
        } finally {
            pool.shutdownNow();
        }
    }

    static int indexOf(Tokenizer tok, String piece) {
        for (int i = 0; i < tok.vocabSize(); i++) if (tok.piece(i).equals(piece)) return i;
        throw new AssertionError("no piece " + piece);
    }

    static List<String> pieces(Tokenizer tok, int[] ids) {
        List<String> out = new ArrayList<>();
        for (int id : ids) out.add(tok.piece(id));
        return out;
    }
}
