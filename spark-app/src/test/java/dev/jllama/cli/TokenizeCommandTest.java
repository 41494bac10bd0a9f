package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizeCommandTest {
    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

    private Map<String, Object> tokenize(String... argv) throws Exception {
        return new TokenizeCommand().run(Args.parse(argv, 0), out);
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
        Tokenizer trained = Tokenizer.load(model);
        assertEquals(trained.vocabSize(), result.get("vocab_size"));
        assertArrayEquals(trained.encode("the cat"), ids(result));
        assertEquals("▁the", trained.piece(ids(result)[0]));
    }

    @Test
    void rejectsConflictingOptions() {
        assertThrows(UsageException.class, () -> tokenize("--text", "a", "--input", "b"));
        assertThrows(UsageException.class, () -> tokenize());
        assertThrows(UsageException.class, () -> tokenize("--train", "--input", "x", "--output", "y"));
        assertThrows(UsageException.class, () -> tokenize("--text", "a", "--bogus", "1"));
    }

    @Test
    void benchmarkReportsThroughput(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("text.txt");
        Files.writeString(text, "Some text to encode, with digits 12345 and café.\n".repeat(500));
        Map<String, Object> result = TokenizeBenchmark.run(Args.parse(new String[] {"--input", text.toString(), "--steps", "1"}, 0), out);
        assertEquals(Files.size(text), result.get("bytes"));
        assertEquals((long) Tokenizer.bundled().encode("Some text to encode, with digits 12345 and café.").length * 500, result.get("tokens"));
        assertTrue((double) result.get("mb_per_s") > 0);
        assertTrue((double) result.get("tokens_per_s") > 0);
    }
}
