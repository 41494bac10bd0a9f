package dev.jllama.data.shard;

import dev.jllama.data.tokenizer.Tokenizer;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** A prepared token dataset: a directory with manifest.json, tokenizer.model and the shards of each split. */
public final class Dataset {
    private final Path dir;
    private final Configuration conf;
    private final Manifest manifest;
    private final String source;

    private Dataset(Path dir, Configuration conf, Manifest manifest, String source) {
        this.dir = dir;
        this.conf = conf;
        this.manifest = manifest;
        this.source = source;
    }

    /** Opens DIR (any Hadoop URI or local path) after validating its manifest; errors name the file. */
    public static Dataset open(String dir, Configuration conf) throws IOException {
        Path path = new Path(dir);
        FileSystem fs = path.getFileSystem(conf);
        path = fs.makeQualified(path);
        Path manifestPath = new Path(path, Manifest.FILE_NAME);
        byte[] json;
        try {
            json = readAll(fs, manifestPath);
        } catch (FileNotFoundException e) {
            throw new IOException("dataset " + path + " has no " + Manifest.FILE_NAME
                    + " (not a dataset, or its preparation did not finish)", e);
        }
        return new Dataset(path, conf, Manifest.parse(json, manifestPath.toString()), null);
    }

    /**
     * This dataset read as the shards of one source only: its splits, totals, windows and fingerprints are that
     * source's. Needs a dataset prepared with per-source shards.
     *
     * @throws IllegalArgumentException naming the dataset and its sources, if it has no separate shards of {@code source}
     */
    public Dataset source(String source) {
        return new Dataset(dir, conf, manifest.ofSource(source, dir.toString()), source);
    }

    /** The source this dataset is restricted to, or null when it is read whole. */
    public String source() {
        return source;
    }

    /** The directory, and the source when restricted to one: for messages. */
    private String describe() {
        return source == null ? dir.toString() : dir + " (source '" + source + "')";
    }

    public Path dir() {
        return dir;
    }

    public Manifest manifest() {
        return manifest;
    }

    public int vocabSize() {
        return manifest.vocabSize();
    }

    public int eosId() {
        return manifest.eosId();
    }

    /** Tokens in split "train" or "val". */
    public long tokens(String split) {
        return manifest.split(split).tokens();
    }

    /** The dataset's tokenizer.model, checked against the manifest's checksum. */
    public Tokenizer tokenizer() throws IOException {
        Path p = new Path(dir, manifest.tokenizer().file());
        Tokenizer t = Tokenizer.fromBytes(tokenizerBytes(), p.toString());
        if (t.vocabSize() != manifest.vocabSize()) {
            throw new IOException("tokenizer " + p + " has " + t.vocabSize() + " pieces, the manifest says vocab_size "
                    + manifest.vocabSize());
        }
        return t;
    }

    /** The bytes of tokenizer.model as stored (for checkpoints), checked against the manifest's size and checksum. */
    public byte[] tokenizerBytes() throws IOException {
        Manifest.TokenizerFile ref = manifest.tokenizer();
        Path p = new Path(dir, ref.file());
        byte[] bytes = readAll(p.getFileSystem(conf), p);
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        if (bytes.length != ref.bytes() || !Crc32cBlocks.hex(crc.getValue()).equalsIgnoreCase(ref.crc32c())) {
            throw new IOException("tokenizer " + p + " does not match the manifest (" + bytes.length + " bytes, CRC32C "
                    + Crc32cBlocks.hex(crc.getValue()) + "; manifest: " + ref.bytes() + " bytes, " + ref.crc32c() + ")");
        }
        return bytes;
    }

    /**
     * The windows of {@code split} that rank {@code slice.rank()} reads from the split's global stream (see
     * {@link WindowOrder} and {@link RankSlice}), shuffled by {@code seed}; continues at the global index saved in
     * {@code position} (null = the start), whatever the slice it was saved with.
     */
    public WindowSource windows(String split, int seqLen, long seed, RankSlice slice, String position) throws IOException {
        Objects.requireNonNull(slice, "slice");
        String fingerprint = fingerprint(split);
        long start = 0;
        if (position != null) {
            WindowPosition saved = WindowPosition.parse(position);
            saved.checkMatches(fingerprint, split, seqLen, seed);
            start = saved.windows();
        }
        return new RankWindowSource(stream(split, seqLen, seed, slice.readAheadVisits()), slice, fingerprint, split, seed, start);
    }

    /**
     * The global window stream of {@code split} for windows of seqLen+1 tokens shuffled by {@code seed}, readable by
     * global index, keeping {@code readAhead} block visits loaded ahead; a split without a single window is an error.
     */
    public WindowStream stream(String split, int seqLen, long seed, int readAhead) throws IOException {
        if (seqLen <= 0) throw new IllegalArgumentException("seqLen must be positive, got " + seqLen);
        Manifest.Split s = manifest.split(split);
        long[] shardTokens = s.shards().stream().mapToLong(ShardInfo::tokens).toArray();
        int perBlock = WindowOrder.windowsPerBlock(manifest.blockBytes(), seqLen, manifest.tokenWidth());
        WindowOrder order = new WindowOrder(shardTokens, seqLen, perBlock, seed);
        if (order.windowsPerEpoch() == 0) {
            throw new IOException("split '" + split + "' of dataset " + describe() + " (" + s.tokens() + " tokens in "
                    + s.shards().size() + " shards) has no window of " + (seqLen + 1) + " tokens");
        }
        BlockLoader loader = new BlockLoader(dir, dir.getFileSystem(conf), manifest, s.shards());
        return new WindowStream(order, loader, readAhead, "jllama-window-prefetch-" + dir.getName() + (source == null ? "" : "-" + source) + "-" + split);
    }

    /** Windows of seqLen+1 tokens in one epoch of {@code split}: what one pass over its shards yields. */
    public long windowsPerEpoch(String split, int seqLen) {
        if (seqLen <= 0) throw new IllegalArgumentException("seqLen must be positive, got " + seqLen);
        long[] shardTokens = manifest.split(split).shards().stream().mapToLong(ShardInfo::tokens).toArray();
        int perBlock = WindowOrder.windowsPerBlock(manifest.blockBytes(), seqLen, manifest.tokenWidth());
        return new WindowOrder(shardTokens, seqLen, perBlock, 0).windowsPerEpoch();
    }

    /** Reads the shards of {@code split} by token range (verified), for readers that do not stream windows. */
    BlockLoader loader(String split) throws IOException {
        return new BlockLoader(dir, dir.getFileSystem(conf), manifest, manifest.split(split).shards());
    }

    /** Identifies a split's content: CRC32C over its shards' checksums and sizes. */
    public String fingerprint(String split) {
        CRC32C crc = new CRC32C();
        ByteBuffer b = ByteBuffer.allocate(16);
        for (ShardInfo s : manifest.split(split).shards()) {
            crc.update(s.crc32c().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            b.clear();
            b.putLong(s.tokens()).putLong(s.bytes()).flip();
            crc.update(b);
        }
        return Crc32cBlocks.hex(crc.getValue());
    }

    static byte[] readAll(FileSystem fs, Path p) throws IOException {
        try (InputStream in = fs.open(p)) {
            return in.readAllBytes();
        }
    }
}
