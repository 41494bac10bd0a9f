package dev.jllama.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.SparkTestSession;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model trained here loads in SentencePiece itself (python3-sentencepiece) and encodes exactly as our encoder.
 * Skipped when /usr/bin/python3 has no sentencepiece module.
 */
class BpeTrainerSentencePieceTest {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final Path SCRIPT = Path.of("src/test/python/spm_encode.py");

    static boolean sentencePieceAvailable() {
        if (!Files.isExecutable(PYTHON) || !Files.exists(SCRIPT)) return false;
        try {
            Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import sentencepiece").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static List<String> corpusLines(int n) throws IOException {
        List<String> lines = new ArrayList<>();
        try (InputStream in = BpeTrainerSentencePieceTest.class.getResourceAsStream("/dev/jllama/data/corpus/nlp-corpus-4.4.0.train.txt.gz")) {
            if (in == null) throw new IOException("bundled corpus resource is missing");
            BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(in), StandardCharsets.UTF_8));
            for (String line; lines.size() < n && (line = r.readLine()) != null; ) lines.add(line);
        }
        return lines;
    }

    @Test
    void sentencePieceLoadsTrainedModelAndEncodesIdentically(@TempDir Path dir) throws Exception {
        assumeTrue(sentencePieceAvailable(), "/usr/bin/python3 lacks the sentencepiece module");
        List<String> lines = corpusLines(4000);
        List<String> docs = new ArrayList<>();
        for (int i = 0; i < lines.size(); i += 100) docs.add(String.join("\n", lines.subList(i, Math.min(lines.size(), i + 100))));
        docs.add("ｆｕｌｌ　ｗｉｄｔｈ ２０２４ 東京は日本の首都です。 e\u0301te\u0301 ▁▁ lit▁eral \t tab");
        Tokenizer tok = BpeTrainer.train(SparkTestSession.get().parallelize(docs, 4), BpeTrainerOptions.llama(1200));
        Path model = dir.resolve("trained.model");
        Files.write(model, tok.toModelBytes());

        List<String> texts = new ArrayList<>(lines.subList(3000, 3400)); // unseen text
        texts.addAll(lines.subList(0, 100));
        texts.addAll(List.of("", " ", "   lots   of   space   ", "Hello world!", "1234567 3.14", "naïve café — 東京 🚀 é́",
                "ｆｕｌｌ ２０２４", "\ttab\tand\u0000nul", "▁▁x▁", "ünïcödé ÅÄÖ ß Straße", "<s> </s> <unk> <0x41>",
                "emoji 👩‍👩‍👧 \uD83D\uDE00", "x".repeat(500), "word ".repeat(300)));
        Path input = dir.resolve("texts.jsonl");
        ObjectMapper json = new ObjectMapper();
        List<String> encoded = new ArrayList<>();
        for (String t : texts) encoded.add(json.writeValueAsString(t));
        Files.write(input, encoded, StandardCharsets.UTF_8);

        Process p = new ProcessBuilder(PYTHON.toString(), SCRIPT.toString(), model.toString(), input.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).lines().toList();
        assertEquals(0, p.waitFor(), "spm_encode.py failed");
        assertEquals(texts.size() + 1, out.size());
        for (int i = 0; i < texts.size(); i++) {
            int[] expected = TokenizerFixturesTest.ints(json.readTree(out.get(i)));
            int[] actual = tok.encode(texts.get(i));
            final int k = i;
            assertEquals(Arrays.toString(expected), Arrays.toString(actual), () -> "text " + k + ": " + texts.get(k));
        }
        JsonNode meta = json.readTree(out.get(texts.size()));
        assertEquals(tok.vocabSize(), meta.get("vocab").asInt());
        assertEquals(tok.unkId(), meta.get("unk").asInt());
        assertEquals(tok.bosId(), meta.get("bos").asInt());
        assertEquals(tok.eosId(), meta.get("eos").asInt());
    }
}
