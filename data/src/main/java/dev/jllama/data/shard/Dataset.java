package dev.jllama.data.shard;

import dev.jllama.data.tokenizer.Tokenizer;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** A prepared token dataset: a directory with manifest.json, tokenizer.model and the shards of each split. */
public final class Dataset {
    private final Path dir;
    private final Configuration conf;
    private final Manifest manifest;

    private Dataset(Path dir, Configuration conf, Manifest manifest) {
        this.dir = dir;
        this.conf = conf;
        this.manifest = manifest;
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
        return new Dataset(path, conf, Manifest.parse(json, manifestPath.toString()));
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
        Manifest.TokenizerFile ref = manifest.tokenizer();
        Path p = new Path(dir, ref.file());
        byte[] bytes = readAll(p.getFileSystem(conf), p);
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        if (bytes.length != ref.bytes() || !Crc32cBlocks.hex(crc.getValue()).equalsIgnoreCase(ref.crc32c())) {
            throw new IOException("tokenizer " + p + " does not match the manifest (" + bytes.length + " bytes, CRC32C "
                    + Crc32cBlocks.hex(crc.getValue()) + "; manifest: " + ref.bytes() + " bytes, " + ref.crc32c() + ")");
        }
        Tokenizer t = Tokenizer.fromBytes(bytes, p.toString());
        if (t.vocabSize() != manifest.vocabSize()) {
            throw new IOException("tokenizer " + p + " has " + t.vocabSize() + " pieces, the manifest says vocab_size "
                    + manifest.vocabSize());
        }
        return t;
    }

    /** Windows of split for rank `rank` of `worldSize`; resumes exactly from `position` (null = start), shuffled by seed. */
    public WindowSource windows(String split, int seqLen, int rank, int worldSize, long seed, String position)
            throws IOException {
        manifest.split(split);
        return new ShardWindowSource(dir, conf, manifest, split, fingerprint(split), seqLen, rank, worldSize, seed, position);
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
