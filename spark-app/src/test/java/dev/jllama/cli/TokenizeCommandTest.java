package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizeCommandTest {
    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

    private Map<String, Object> tokenize(String... argv) throws Exception {
        String[] all = new String[argv.length + 1];
        all[0] = "tokenize";
        System.arraycopy(argv, 0, all, 1, argv.length);
        return Main.checked(all).run(out);
    }

    static int[] ids(Map<String, Object> result) {
        @SuppressWarnings("unchecked")
        List<Integer> ids = (List<Integer>) result.get("ids");
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void encodesTextWithTheBundledModel() throws Exception {
        Map<String, Object> result = tokenize("--text", "Hello world!");
        assertArrayEquals(new int[] {370, 509, 3713, 832, 3769}, ids(result));
        assertEquals(List.of("▁H", "ell", "o", "▁world", "!"), result.get("pieces"));
        assertTrue(printed.toString(StandardCharsets.UTF_8).contains("ids: 370 509 3713 832 3769"));
    }

    @Test
    void encodesFilesWithInvalidUtf8WithoutFailing(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.txt");
        Files.write(file, new byte[] {'a', 'b', (byte) 0xFF, 'c', ' ', (byte) 0xE6, (byte) 0x9D, ' ', 'x'});
        int[] ids = ids(tokenize("--input", file.toString()));
        assertArrayEquals(Tokenizer.bundled().encode("ab\uFFFDc \uFFFD x"), ids);
    }

    @Test
    void trainsAModelAndEncodesWithIt(@TempDir Path dir) throws Exception {
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, "the cat sat on the mat\nthe dog sat on the log\n".repeat(20));
        Path model = dir.resolve("out.model");
        Map<String, Object> result = tokenize("--train", "--input", corpus.toString(), "--vocab-size", "300",
                "--output", model.toString(), "--text", "the cat");
        // Seven words of 13 distinct characters: after 17 merges every word is one piece and no pair is left, so
        // training stops below the 300 asked for (259 meta and byte pieces + 13 characters + 17 merges).
        assertEquals(289, result.get("vocab_size"));
        assertEquals(List.of("▁the", "▁cat"), result.get("pieces"));
        Tokenizer trained = Tokenizer.load(model);
        assertEquals(289, trained.vocabSize());
        List<String> vocabulary = new ArrayList<>();
        for (int id = 0; id < trained.vocabSize(); id++) vocabulary.add(trained.piece(id));
        assertArrayEquals(new int[] {vocabulary.indexOf("▁the"), vocabulary.indexOf("▁cat")}, ids(result));
        for (String word : List.of("▁sat", "▁on", "▁mat", "▁dog", "▁log")) assertTrue(vocabulary.contains(word), word);
        String bytes = new String(Files.readAllBytes(model), StandardCharsets.ISO_8859_1);
        assertFalse(bytes.contains(dir.toString()), "the model records a path under " + dir);
    }

    @Test
    void rejectsConflictingOptions() {
        assertThrows(UsageException.class, () -> tokenize("--text", "a", "--input", "b"));
        assertThrows(UsageException.class, () -> tokenize());
        assertThrows(UsageException.class, () -> tokenize("--train", "--input", "x", "--output", "y"));
        assertThrows(picocli.CommandLine.ParameterException.class, () -> tokenize("--text", "a", "--bogus", "1"));
    }

    @Test
    void benchmarkCountsTokensAndBytesAndReportsConsistentRates(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("text.txt");
        Files.writeString(text, "Some text to encode, with digits 12345 and café.\n".repeat(500));
        JsonNode result = CommandLineRun.json("bench", "--what", "tokenize", "--input", text.toString(), "--steps", "2", "--json");
        assertEquals(Files.size(text), result.get("bytes").asLong());
        // SentencePiece encodes the line in 21 pieces (▁Some ▁text ▁to ▁enc ode , ▁with ▁d ig its ▁ 1 2 3 4 5 ▁and
        // ▁ca f é .), and the benchmark encodes line by line.
        assertEquals(21L * 500, result.get("tokens").asLong());
        double mbPerS = result.get("mb_per_s").asDouble();
        assertEquals(result.get("bytes").asDouble() / result.get("tokens").asDouble(),
                mbPerS * 1e6 / result.get("tokens_per_s").asDouble(), 1e-9, "MB/s and tokens/s come from the same time");
        assertTrue(result.get("best_mb_per_s").asDouble() >= mbPerS, "the best pass is at least the mean");
        assertTrue(mbPerS > 0 && result.get("first_pass_mb_per_s").asDouble() > 0);
        assertEquals(1, result.get("threads").asInt());
    }
}
