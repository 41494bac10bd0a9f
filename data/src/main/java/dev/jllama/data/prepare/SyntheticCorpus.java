package dev.jllama.data.prepare;

import dev.jllama.data.shard.SplitMix64;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A generated corpus for benchmarking the preparation job: JSON lines with a "text" and a "source" field, whose
 * documents are 100–1,500 words drawn from the bundled corpus's word frequencies (so the tokenizer sees English
 * words), with planted copies: {@value #EXACT_PERCENT} % of documents repeat an earlier one exactly and
 * {@value #NEAR_PERCENT} % repeat one with 1 % of its words changed. The same size and seed give the same bytes.
 */
public final class SyntheticCorpus {
    public static final int EXACT_PERCENT = 2;
    public static final int NEAR_PERCENT = 3;
    private static final String[] SOURCES = {"web", "books", "wiki"};
    private static final long FILE_BYTES = 64L << 20;

    private final String[] words;
    private final long[] cumulative;

    private SyntheticCorpus(String[] words, long[] cumulative) {
        this.words = words;
        this.cumulative = cumulative;
    }

    /** Word frequencies of the bundled corpus (words as separated by whitespace, punctuation kept). */
    public static SyntheticCorpus fromBundledWords() throws IOException {
        Map<String, Long> counts = new HashMap<>();
        try (InputStream in = BundledCorpus.class.getResourceAsStream(BundledCorpus.RESOURCE)) {
            if (in == null) throw new IOException("bundled corpus resource " + BundledCorpus.RESOURCE + " is missing");
            String text = new String(new GZIPInputStream(in).readAllBytes(), StandardCharsets.UTF_8);
            for (String w : text.split("\\s+")) if (jsonSafe(w)) counts.merge(w, 1L, Long::sum);
        }
        String[] words = counts.keySet().stream().sorted().toArray(String[]::new);
        long[] cumulative = new long[words.length];
        long sum = 0;
        for (int i = 0; i < words.length; i++) cumulative[i] = sum += counts.get(words[i]);
        return new SyntheticCorpus(words, cumulative);
    }

    /** Words that need no escaping inside a JSON string. */
    private static boolean jsonSafe(String w) {
        return !w.isEmpty() && w.chars().allMatch(c -> c >= 0x20 && c != '"' && c != '\\');
    }

    private String word(SplitMix64 rng) {
        long pick = Math.floorMod(rng.nextLong(), cumulative[cumulative.length - 1]);
        int i = Arrays.binarySearch(cumulative, pick + 1);
        return words[i >= 0 ? i : -i - 1];
    }

    /** Writes about {@code bytes} bytes as part-NNNNN.jsonl files under {@code dir}; returns the bytes written. */
    public long write(FileSystem fs, Path dir, long bytes, long seed) throws IOException {
        SplitMix64 rng = new SplitMix64(seed);
        List<List<String>> recent = new ArrayList<>(); // earlier documents that copies are taken from
        long written = 0;
        int file = 0;
        while (written < bytes) {
            long fileBytes = 0;
            Path p = new Path(dir, String.format("part-%05d.jsonl", file++));
            try (Writer out = new BufferedWriter(new OutputStreamWriter(fs.create(p, false), StandardCharsets.UTF_8), 1 << 20)) {
                while (fileBytes < FILE_BYTES && written + fileBytes < bytes) {
                    int roll = rng.nextInt(100);
                    List<String> doc;
                    if (roll < EXACT_PERCENT + NEAR_PERCENT && !recent.isEmpty()) {
                        doc = new ArrayList<>(recent.get(rng.nextInt(recent.size())));
                        if (roll >= EXACT_PERCENT) {
                            for (int c = Math.max(1, doc.size() / 100); c > 0; c--) doc.set(rng.nextInt(doc.size()), word(rng));
                        }
                    } else {
                        int n = 100 + rng.nextInt(1400);
                        doc = new ArrayList<>(n);
                        for (int i = 0; i < n; i++) doc.add(word(rng));
                        if (recent.size() < 1000) recent.add(doc);
                        else recent.set(rng.nextInt(recent.size()), doc);
                    }
                    String line = "{\"source\": \"" + SOURCES[rng.nextInt(SOURCES.length)] + "\", \"text\": \""
                            + String.join(" ", doc) + "\"}\n";
                    out.write(line);
                    fileBytes += Utf8Length.of(line);
                }
            }
            written += fileBytes;
        }
        return written;
    }
}
