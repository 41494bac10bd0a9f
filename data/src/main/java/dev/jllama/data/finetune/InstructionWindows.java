package dev.jllama.data.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.shard.RankSlice;
import dev.jllama.data.shard.SplitMix64;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.BufferedOutputStream;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Instruction examples as training windows: each example (one JSONL record, rendered by its
 * {@link InstructionFormat}) becomes one window of {@code seqLen + 1} tokens, starting at position 0 and padded
 * after its end, with a loss mask over its targets: the response tokens (or, with {@code trainOnPrompt}, every token
 * of the example), never the padding.
 *
 * <p>Why padded and not packed several to a window: the attention kernels of the backend seam are causal over the
 * whole window, so examples packed together would attend to each other. An example alone at the start of its window
 * never sees the padding after it (attention is causal), and sits at the positions it has when run alone, so the loss
 * is exactly the per-example loss a reference framework computes. The price is the compute spent on padding, which
 * {@link Report#fill} reports; a per-example causal mask in the attention kernels would remove it.
 *
 * <p>An example longer than the window is truncated to its first {@code seqLen + 1} tokens (counted in
 * {@link Report#truncated}); one left with no target that counts is dropped (counted in {@link Report#dropped}).
 *
 * <p>With {@code pack} ({@code finetune --pack}) examples instead follow one another in a window while they fit, and the
 * window records, per input position, where its example starts: the backend's attention then stays inside each
 * example (a per-example causal mask), and since RoPE scores depend only on relative positions an example's loss is
 * the one it has alone, up to rounding.
 *
 * <p>File format ({@code examples.bin}, big-endian as Java's DataOutput writes it): magic
 * {@code JLFTWIN1}, int version (2), int seqLen, long windows, boolean packed, then per window {@code seqLen + 1} int
 * tokens, {@code seqLen} bytes of loss mask (1 counts) and, when packed, {@code seqLen} int example starts.
 */
public final class InstructionWindows {
    public static final String FILE_NAME = "examples.bin";
    private static final byte[] MAGIC = "JLFTWIN1".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 2;

    final int seqLen;
    final int[][] tokens;
    final boolean[][] masks;
    /** Packed windows: per input position, where its example starts; null when each window holds one example. */
    final int[][] starts;

    private InstructionWindows(int seqLen, int[][] tokens, boolean[][] masks, int[][] starts) {
        this.seqLen = seqLen;
        this.tokens = tokens;
        this.masks = masks;
        this.starts = starts;
    }

    /** Whether windows pack several examples (attention must then be masked per example, {@link #copyStarts}). */
    public boolean packed() {
        return starts != null;
    }

    public int seqLen() {
        return seqLen;
    }

    public int windows() {
        return tokens.length;
    }

    /** What the preparation found, for the command's report. */
    public record Report(int examples, int windows, int truncated, int dropped, long exampleTokens, long countedTargets,
                         double fill, Map<String, Integer> formats) {
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("examples", examples);
            m.put("windows", windows);
            m.put("truncated", truncated);
            m.put("dropped", dropped);
            m.put("example_tokens", exampleTokens);
            m.put("loss_tokens", countedTargets);
            m.put("fill", fill);
            m.put("formats", formats);
            return m;
        }
    }

    /**
     * Reads every file's records, renders and windows them. {@code format} null tells each record's format from its
     * fields.
     */
    public static Prepared prepare(List<String> files, InstructionFormat format, ChatTemplate template,
                                   Tokenizer tokenizer, int seqLen, boolean trainOnPrompt, Configuration conf)
            throws IOException {
        return prepare(files, format, template, tokenizer, seqLen, trainOnPrompt, false, conf);
    }

    /**
     * As {@link #prepare(List, InstructionFormat, ChatTemplate, Tokenizer, int, boolean, Configuration)}; with
     * {@code pack}, examples are placed one after another in a window while they fit (in the files' order), each
     * window recording where each example starts so that attention stays inside it.
     */
    public static Prepared prepare(List<String> files, InstructionFormat format, ChatTemplate template,
                                   Tokenizer tokenizer, int seqLen, boolean trainOnPrompt, boolean pack,
                                   Configuration conf) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<int[]> tokens = new ArrayList<>();
        List<boolean[]> masks = new ArrayList<>();
        List<int[]> starts = new ArrayList<>();
        int[] used = {seqLen + 1}; // tokens in the last window: a new example needs a new window
        int examples = 0, truncated = 0, dropped = 0;
        long exampleTokens = 0, counted = 0, windowTokens = 0;
        Map<String, Integer> formats = new LinkedHashMap<>();
        int pad = tokenizer.eosId() >= 0 ? tokenizer.eosId() : 0;
        for (String file : files) {
            Path path = new Path(file);
            FileSystem fs = path.getFileSystem(conf);
            try (BufferedReader in = new BufferedReader(new InputStreamReader(fs.open(path), StandardCharsets.UTF_8))) {
                String line;
                int lineNo = 0;
                while ((line = in.readLine()) != null) {
                    lineNo++;
                    if (line.isBlank()) continue;
                    String where = file + ":" + lineNo;
                    JsonNode record;
                    try {
                        record = json.readTree(line);
                    } catch (IOException e) {
                        throw new IllegalArgumentException(where + ": not a JSON object: "
                                + e.getMessage().lines().findFirst().orElse(""));
                    }
                    if (record == null || !record.isObject()) {
                        throw new IllegalArgumentException(where + ": not a JSON object");
                    }
                    InstructionFormat recordFormat = format != null ? format : InstructionFormat.detect(record);
                    if (recordFormat == null) {
                        throw new IllegalArgumentException(where + ": cannot tell the format from fields "
                                + fieldNames(record) + " (alpaca: instruction, input, output; prompt-completion:"
                                + " prompt, completion; messages: messages)");
                    }
                    ChatTemplate.Rendered r = recordFormat.render(record, template, tokenizer, where);
                    examples++;
                    formats.merge(recordFormat.label, 1, Integer::sum);
                    exampleTokens += r.tokens().length;
                    int length = r.tokens().length;
                    if (length > seqLen + 1) {
                        truncated++;
                        length = seqLen + 1;
                    }
                    int n = 0;
                    for (int j = 1; j < length; j++) if (trainOnPrompt || r.response()[j]) n++;
                    if (n == 0) {
                        dropped++;
                        continue;
                    }
                    if (!pack || used[0] + length > seqLen + 1) {
                        int[] window = new int[seqLen + 1];
                        java.util.Arrays.fill(window, pad);
                        tokens.add(window);
                        masks.add(new boolean[seqLen]);
                        if (pack) starts.add(new int[seqLen]);
                        used[0] = 0;
                    }
                    int at = used[0];
                    int[] window = tokens.get(tokens.size() - 1);
                    boolean[] mask = masks.get(masks.size() - 1);
                    System.arraycopy(r.tokens(), 0, window, at, length);
                    // Target at + j - 1 is the example's token j; its last token's target (the next example's
                    // first) does not count.
                    for (int j = 1; j < length; j++) mask[at + j - 1] = trainOnPrompt || r.response()[j];
                    if (pack) {
                        int[] start = starts.get(starts.size() - 1);
                        for (int i = at; i < seqLen; i++) start[i] = i < at + length ? at : at + length;
                    }
                    used[0] = at + length;
                    counted += n;
                    windowTokens += length;
                }
            } catch (java.io.FileNotFoundException e) {
                throw new IllegalArgumentException("--data " + file + ": no such file");
            }
        }
        if (tokens.isEmpty()) {
            throw new IllegalArgumentException("--data " + String.join(" ", files) + ": no example with a response token"
                    + " to train on (" + examples + " read, " + dropped + " dropped)");
        }
        InstructionWindows windows = new InstructionWindows(seqLen, tokens.toArray(int[][]::new),
                masks.toArray(boolean[][]::new), pack ? starts.toArray(int[][]::new) : null);
        double fill = windowTokens / (double) ((long) tokens.size() * (seqLen + 1));
        return new Prepared(windows, new Report(examples, tokens.size(), truncated, dropped, exampleTokens, counted,
                fill, formats));
    }

    private static String fieldNames(JsonNode record) {
        List<String> names = new ArrayList<>();
        record.fieldNames().forEachRemaining(names::add);
        return names.toString();
    }

    /** Windows and the report of their preparation. */
    public record Prepared(InstructionWindows windows, Report report) {}

    /** Where each input position's example starts in window {@code index}, into {@code dst[at ..]} (zeros unpacked). */
    public void copyStarts(int index, int[] dst, int at) {
        if (starts == null) java.util.Arrays.fill(dst, at, at + seqLen, 0);
        else System.arraycopy(starts[index], 0, dst, at, seqLen);
    }

    /** The window at {@code index} with its mask: tokens into {@code dst[dstAt ..]}, mask into {@code mask[maskAt ..]}. */
    public void copy(int index, int[] dst, int dstAt, boolean[] mask, int maskAt) {
        System.arraycopy(tokens[index], 0, dst, dstAt, seqLen + 1);
        System.arraycopy(masks[index], 0, mask, maskAt, seqLen);
    }

    /** Writes the windows to {@code file} (any Hadoop URI), through a temporary file renamed into place. */
    public void write(String file, Configuration conf) throws IOException {
        Path path = new Path(file);
        FileSystem fs = path.getFileSystem(conf);
        Path tmp = new Path(path.getParent(), "." + path.getName() + ".tmp");
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(fs.create(tmp, true), 1 << 16))) {
            out.write(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(seqLen);
            out.writeLong(tokens.length);
            out.writeBoolean(starts != null);
            for (int w = 0; w < tokens.length; w++) {
                for (int t : tokens[w]) out.writeInt(t);
                for (boolean b : masks[w]) out.writeByte(b ? 1 : 0);
                if (starts != null) for (int t : starts[w]) out.writeInt(t);
            }
        }
        fs.delete(path, false);
        if (!fs.rename(tmp, path)) throw new IOException("cannot rename " + tmp + " to " + path);
    }

    /** The windows {@link #write} wrote. */
    public static InstructionWindows read(String file, Configuration conf) throws IOException {
        Path path = new Path(file);
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(path.getFileSystem(conf).open(path), 1 << 16))) {
            byte[] magic = new byte[MAGIC.length];
            in.readFully(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) throw new IOException(file + ": not an instruction-windows file");
            int version = in.readInt();
            if (version != VERSION) throw new IOException(file + ": version " + version + ", this reads " + VERSION);
            int seqLen = in.readInt();
            long n = in.readLong();
            if (seqLen <= 0 || n <= 0 || n > Integer.MAX_VALUE) {
                throw new IOException(file + ": bad header (seq_len " + seqLen + ", windows " + n + ")");
            }
            boolean packed = in.readBoolean();
            int[][] tokens = new int[(int) n][seqLen + 1];
            boolean[][] masks = new boolean[(int) n][seqLen];
            int[][] starts = packed ? new int[(int) n][seqLen] : null;
            for (int w = 0; w < n; w++) {
                for (int t = 0; t <= seqLen; t++) tokens[w][t] = in.readInt();
                for (int t = 0; t < seqLen; t++) masks[w][t] = in.readByte() != 0;
                if (packed) for (int t = 0; t < seqLen; t++) starts[w][t] = in.readInt();
            }
            return new InstructionWindows(seqLen, tokens, masks, starts);
        }
    }

    /**
     * One rank's reader of the global stream of windows: epoch after epoch, each in an order shuffled by
     * {@code seed} and the epoch's number; {@link RankSlice} says which of the stream's windows this rank reads, so a
     * resumed run continues at the same place with any number of ranks.
     */
    public Reader reader(long seed, RankSlice slice, String position) {
        return new Reader(seed, slice, position == null ? 0 : parsePosition(position));
    }

    static long parsePosition(String position) {
        if (!position.startsWith("windows=")) throw new IllegalArgumentException("not an instruction-windows position: '"
                + position + "'");
        return Long.parseLong(position.substring("windows=".length()));
    }

    public final class Reader {
        private final long seed;
        private final RankSlice slice;
        private final long start;
        private long read;
        private long epoch = -1;
        private int[] order;

        Reader(long seed, RankSlice slice, long start) {
            this.seed = seed;
            this.slice = slice;
            this.start = start;
        }

        /** The next {@code count} windows of this rank into {@code dst} and {@code mask}. */
        public void next(int[] dst, boolean[] mask, int count) {
            next(dst, mask, null, count);
        }

        /** As {@link #next(int[], boolean[], int)}, and their examples' starts into {@code exampleStarts} unless null. */
        public void next(int[] dst, boolean[] mask, int[] exampleStarts, int count) {
            for (int k = 0; k < count; k++) {
                long g = slice.globalIndex(start, read++);
                int index = windowAt(g);
                copy(index, dst, k * (seqLen + 1), mask, k * seqLen);
                if (exampleStarts != null) copyStarts(index, exampleStarts, k * seqLen);
            }
        }

        private int windowAt(long g) {
            long e = g / tokens.length;
            if (e != epoch) {
                epoch = e;
                order = new SplitMix64(SplitMix64.seed(seed, e)).permutation(tokens.length);
            }
            return order[(int) (g % tokens.length)];
        }

        /** Global windows consumed, at a step boundary: {@code windows=N}. */
        public String position() {
            return "windows=" + slice.consumedAtStepBoundary(start, read);
        }

        /** Epochs over the examples that the stream has reached. */
        public double epochs() {
            return slice.consumedAtStepBoundary(start, read - read % slice.windowsPerStep()) / (double) tokens.length;
        }
    }
}
