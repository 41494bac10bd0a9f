package dev.jllama.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Reproduces SentencePiece 0.1.97's own output for the bundled model: the reference encodings shipped with the
 * model and the fixtures of data/src/test/python/make_tokenizer_fixtures.py (emoji, CJK, combining marks,
 * control characters, whitespace runs, empty and very long input, invalid UTF-8, decoding).
 */
class TokenizerFixturesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static List<JsonNode> lines(String resource) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (InputStream in = TokenizerFixturesTest.class.getResourceAsStream(resource)) {
            if (in == null) throw new IOException("missing test resource " + resource);
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = reader.readLine()) != null; ) if (!line.isBlank()) out.add(JSON.readTree(line));
        }
        return out;
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    @Test
    void reproducesReferenceEncodingsExactly() throws IOException {
        Tokenizer tok = Tokenizer.bundled();
        List<JsonNode> cases = lines("spm-bpe-4096.expected.jsonl");
        assertEquals(5, cases.size());
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] ids = tok.encode(text);
            assertArrayEquals(ints(c.get("ids")), ids, () -> "ids of " + text);
            for (int i = 0; i < ids.length; i++) assertEquals(c.get("pieces").get(i).asText(), tok.piece(ids[i]));
        }
    }

    @Test
    void reproducesSentencePieceEncodeFixtures() throws IOException {
        Tokenizer tok = Tokenizer.bundled();
        int checked = 0;
        for (JsonNode c : lines("spm-bpe-4096.fixtures.jsonl")) {
            if (!c.has("utf8_hex")) continue;
            String name = c.get("case").asText();
            byte[] bytes = HexFormat.of().parseHex(c.get("utf8_hex").asText());
            int[] expected = ints(c.get("ids"));
            assertArrayEquals(expected, tok.encodeUtf8(bytes, 0, bytes.length), () -> "encodeUtf8 of case " + name);
            // The same bytes inside a larger buffer (offset handling).
            byte[] padded = new byte[bytes.length + 6];
            System.arraycopy(bytes, 0, padded, 3, bytes.length);
            assertArrayEquals(expected, tok.encodeUtf8(padded, 3, bytes.length), () -> "offset encodeUtf8 of " + name);
            String text = new String(bytes, StandardCharsets.UTF_8);
            if (!name.startsWith("invalid") && !name.startsWith("random")) {
                assertArrayEquals(expected, tok.encode(text), () -> "encode of case " + name);
            }
            checked++;
        }
        assertTrue(checked >= 90, "fixture file has too few encode cases: " + checked);
    }

    @Test
    void reproducesSentencePieceDecodeFixtures() throws IOException {
        Tokenizer tok = Tokenizer.bundled();
        int checked = 0;
        for (JsonNode c : lines("spm-bpe-4096.fixtures.jsonl")) {
            if (!c.has("decode_ids")) continue;
            int[] ids = ints(c.get("decode_ids"));
            assertEquals(c.get("text").asText(), tok.decode(ids), () -> "decode of " + c.get("case").asText());
            checked++;
        }
        assertTrue(checked >= 60, "fixture file has too few decode cases: " + checked);
    }
}
