package dev.jllama.data.shard;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json} of a token dataset (format described in docs/formats/token-shards.md). It is written
 * last, so its presence marks a complete dataset.
 *
 * @param chunkBytes  size of the slices the chunk checksums files ({@code SHARD.crc32c}) cover; null for datasets
 *                    written without them, which are read in whole {@code block_bytes} blocks
 * @param splits      "train" and "val", in that order
 * @param preparation what the preparation job did (options and counts); informational, never read back
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Manifest(
        String format,
        int formatVersion,
        int vocabSize,
        int bosId,
        int eosId,
        int tokenWidth,
        TokenizerFile tokenizer,
        int blockBytes,
        Integer chunkBytes,
        Map<String, Split> splits,
        Map<String, Object> preparation) {

    public static final String FORMAT = "jllama-token-dataset";
    public static final int FORMAT_VERSION = 1;
    public static final String FILE_NAME = "manifest.json";
    public static final String TOKENIZER_FILE = "tokenizer.model";
    public static final int DEFAULT_BLOCK_BYTES = 1 << 20;
    /** As HDFS's bytes-per-checksum: fine enough that a window of 512+ tokens reads little beyond its own bytes. */
    public static final int DEFAULT_CHUNK_BYTES = 512;
    public static final String CHUNK_CHECKSUMS_SUFFIX = ".crc32c";

    /** The tokenizer model stored beside the shards. */
    public record TokenizerFile(String file, long bytes, String crc32c) {}

    /**
     * One split: its shards in order, with totals.
     *
     * @param sources documents and tokens per source (null in datasets written before it)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Split(long tokens, long documents, List<ShardInfo> shards, Map<String, SourceTotals> sources) {
        public Split {
            shards = List.copyOf(shards);
            sources = sources == null ? null : new java.util.TreeMap<>(sources);
        }

        public Split(long tokens, long documents, List<ShardInfo> shards) {
            this(tokens, documents, shards, null);
        }

        /** Whether every shard holds the documents of one source (and says which). */
        public boolean shardedBySource() {
            return !shards.isEmpty() && shards.stream().allMatch(s -> s.source() != null);
        }
    }

    /** What one source contributed to a split. */
    public record SourceTotals(long documents, long tokens) {}

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public Manifest {
        splits = splits == null ? null : new LinkedHashMap<>(splits);
    }

    /** A manifest without chunk checksums (datasets written before them). */
    public Manifest(String format, int formatVersion, int vocabSize, int bosId, int eosId, int tokenWidth,
                    TokenizerFile tokenizer, int blockBytes, Map<String, Split> splits, Map<String, Object> preparation) {
        this(format, formatVersion, vocabSize, bosId, eosId, tokenWidth, tokenizer, blockBytes, null, splits, preparation);
    }

    /** The largest divisor of {@code blockBytes} up to {@link #DEFAULT_CHUNK_BYTES}: chunks must tile blocks. */
    public static int chunkBytesFor(int blockBytes) {
        int c = Math.min(DEFAULT_CHUNK_BYTES, blockBytes);
        while (blockBytes % c != 0) c--;
        return c;
    }

    /** The chunk checksums file of shard file {@code shardFile}, beside it. */
    public static String chunkChecksumsFile(String shardFile) {
        return shardFile + CHUNK_CHECKSUMS_SUFFIX;
    }

    public Split split(String name) {
        Split s = splits.get(name);
        if (s == null) throw new IllegalArgumentException("no split '" + name + "' (splits: " + splits.keySet() + ")");
        return s;
    }

    public byte[] toJson() {
        try {
            return (JSON.writeValueAsString(this) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise manifest", e);
        }
    }

    /** Parses and validates; every error names {@code file} and the offending field. */
    public static Manifest parse(byte[] json, String file) throws IOException {
        Manifest m;
        try {
            m = JSON.readValue(json, Manifest.class);
        } catch (IOException e) {
            throw new IOException("manifest " + file + " is not valid JSON: " + e.getMessage(), e);
        }
        m.validate(file);
        return m;
    }

    /** Shards name a source all or none; a source's shards hold the tokens its totals say. */
    private static void validateSources(String where, String sp, Split s) throws IOException {
        long named = s.shards().stream().filter(sh -> sh.source() != null).count();
        if (named == 0) return;
        if (named != s.shards().size()) {
            throw new IOException(where + "field '" + sp + ".shards' names the source of " + named + " of "
                    + s.shards().size() + " shards; it must name all or none");
        }
        if (s.sources() == null) throw new IOException(where + "field '" + sp + ".sources' is missing (its shards name sources)");
        Map<String, Long> bySource = new java.util.TreeMap<>();
        for (ShardInfo sh : s.shards()) bySource.merge(sh.source(), sh.tokens(), Long::sum);
        for (Map.Entry<String, SourceTotals> e : s.sources().entrySet()) {
            long inShards = bySource.getOrDefault(e.getKey(), 0L);
            if (e.getValue() == null || e.getValue().tokens() != inShards) {
                throw new IOException(where + "field '" + sp + ".sources." + e.getKey() + ".tokens' is "
                        + (e.getValue() == null ? null : e.getValue().tokens()) + " but its shards hold " + inShards);
            }
        }
        for (String source : bySource.keySet()) {
            if (!s.sources().containsKey(source)) {
                throw new IOException(where + "field '" + sp + ".sources' lacks source '" + source + "' of its shards");
            }
        }
    }

    /**
     * This manifest with each split holding only the shards of {@code source}, its totals that source's.
     *
     * @throws IllegalArgumentException if the training split's shards do not name sources, or none is {@code source}
     */
    public Manifest ofSource(String source, String dir) {
        Split train = split("train");
        if (!train.shardedBySource()) {
            throw new IllegalArgumentException("dataset " + dir + " does not keep its sources in separate shards, so source '"
                    + source + "' cannot be read alone; prepare it again with --source-shards");
        }
        if (train.sources() == null || !train.sources().containsKey(source)) {
            throw new IllegalArgumentException("dataset " + dir + " has no source '" + source + "' (its sources: "
                    + (train.sources() == null ? "[]" : train.sources().keySet()) + ")");
        }
        Map<String, Split> own = new LinkedHashMap<>();
        for (Map.Entry<String, Split> e : splits.entrySet()) {
            Split s = e.getValue();
            List<ShardInfo> shards = s.shards().stream().filter(sh -> source.equals(sh.source())).toList();
            SourceTotals totals = s.sources() == null ? null : s.sources().get(source);
            long tokens = shards.stream().mapToLong(ShardInfo::tokens).sum();
            own.put(e.getKey(), new Split(tokens, totals == null ? 0 : totals.documents(), shards,
                    totals == null ? Map.of() : Map.of(source, totals)));
        }
        return new Manifest(format, formatVersion, vocabSize, bosId, eosId, tokenWidth, tokenizer, blockBytes, chunkBytes,
                own, preparation);
    }

    private void validate(String file) throws IOException {
        String where = "manifest " + file + ": ";
        if (!FORMAT.equals(format)) throw new IOException(where + "field 'format' is '" + format + "', expected '" + FORMAT + "'");
        if (formatVersion != FORMAT_VERSION) {
            throw new IOException(where + "field 'format_version' is " + formatVersion + ", this reader knows " + FORMAT_VERSION);
        }
        if (vocabSize <= 0) throw new IOException(where + "field 'vocab_size' must be positive, got " + vocabSize);
        if (eosId < 0 || eosId >= vocabSize) throw new IOException(where + "field 'eos_id' " + eosId + " is outside the vocabulary");
        if (tokenWidth != 2 && tokenWidth != 4) throw new IOException(where + "field 'token_width' must be 2 or 4, got " + tokenWidth);
        if (tokenWidth == 2 && vocabSize > 65536) {
            throw new IOException(where + "field 'token_width' 2 cannot hold vocab_size " + vocabSize);
        }
        if (tokenizer == null || tokenizer.file() == null) throw new IOException(where + "field 'tokenizer.file' is missing");
        if (blockBytes <= 0) throw new IOException(where + "field 'block_bytes' must be positive, got " + blockBytes);
        if (chunkBytes != null && (chunkBytes <= 0 || blockBytes % chunkBytes != 0)) {
            throw new IOException(where + "field 'chunk_bytes' " + chunkBytes + " must be positive and divide 'block_bytes' "
                    + blockBytes);
        }
        if (splits == null || !splits.containsKey("train")) throw new IOException(where + "field 'splits.train' is missing");
        for (Map.Entry<String, Split> e : splits.entrySet()) {
            String sp = "splits." + e.getKey();
            Split s = e.getValue();
            if (s == null || s.shards() == null) throw new IOException(where + "field '" + sp + ".shards' is missing");
            long sum = 0;
            for (int i = 0; i < s.shards().size(); i++) {
                ShardInfo sh = s.shards().get(i);
                String f = sp + ".shards[" + i + "]";
                if (sh.file() == null || sh.file().isEmpty() || sh.file().contains("/")) {
                    throw new IOException(where + "field '" + f + ".file' must be a plain file name, got '" + sh.file() + "'");
                }
                if (sh.tokens() < 0 || sh.tokens() > ShardHeader.MAX_TOKENS) {
                    throw new IOException(where + "field '" + f + ".tokens' out of range: " + sh.tokens());
                }
                long expected = ShardHeader.BYTES + sh.tokens() * tokenWidth;
                if (sh.bytes() != expected) {
                    throw new IOException(where + "field '" + f + ".bytes' is " + sh.bytes() + " but " + sh.tokens()
                            + " tokens of " + tokenWidth + " bytes need " + expected);
                }
                long blocks = (sh.bytes() + blockBytes - 1) / blockBytes;
                if (sh.crc32c() == null || sh.blockCrc32c() == null || sh.blockCrc32c().size() != blocks) {
                    throw new IOException(where + "field '" + f + ".block_crc32c' must list " + blocks + " checksums");
                }
                sum += sh.tokens();
            }
            if (sum != s.tokens()) {
                throw new IOException(where + "field '" + sp + ".tokens' is " + s.tokens() + " but its shards hold " + sum);
            }
            validateSources(where, sp, s);
        }
    }
}
