package dev.jllama.data.shard;

import java.io.IOException;
import java.io.OutputStream;
import java.util.zip.CRC32C;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Writes the pieces of a dataset directory: shards, tokenizer.model and, last of all, manifest.json. */
public final class DatasetWriter {
    private DatasetWriter() {}

    /** Shard file name of shard {@code index} of {@code split}, e.g. train-00003.bin. */
    public static String shardName(String split, int index) {
        return String.format("%s-%05d.bin", split, index);
    }

    /** Writes a whole shard from an array of tokens, and its chunk checksums file. */
    public static ShardInfo writeShard(FileSystem fs, Path file, TokenWidth width, int[] tokens, int off, int len,
                                       int vocabSize, int blockBytes) throws IOException {
        ShardWriter w;
        ShardInfo info;
        try (OutputStream out = fs.create(file, false)) {
            w = new ShardWriter(out, file.toString(), width, len, vocabSize, blockBytes);
            w.write(tokens, off, len);
            info = w.finish(file.getName());
        }
        writeChunkChecksums(fs, file, w.chunkCrcs(), false);
        return info;
    }

    /** Writes {@code SHARD.crc32c} beside {@code shard}: the CRC32C of each chunk_bytes slice of it. */
    public static void writeChunkChecksums(FileSystem fs, Path shard, byte[] chunkCrcs, boolean overwrite) throws IOException {
        try (OutputStream out = fs.create(new Path(shard.getParent(), Manifest.chunkChecksumsFile(shard.getName())), overwrite)) {
            out.write(chunkCrcs);
        }
    }

    public static Manifest.TokenizerFile writeTokenizer(FileSystem fs, Path dir, byte[] model) throws IOException {
        Path p = new Path(dir, Manifest.TOKENIZER_FILE);
        try (OutputStream out = fs.create(p, false)) {
            out.write(model);
        }
        CRC32C crc = new CRC32C();
        crc.update(model);
        return new Manifest.TokenizerFile(Manifest.TOKENIZER_FILE, model.length, Crc32cBlocks.hex(crc.getValue()));
    }

    /** Writes manifest.json; call after every other file is complete, since its presence marks completion. */
    public static void writeManifest(FileSystem fs, Path dir, Manifest manifest) throws IOException {
        Path p = new Path(dir, Manifest.FILE_NAME);
        byte[] json = manifest.toJson();
        Manifest.parse(json, p.toString()); // never publish a manifest this code could not read back
        try (OutputStream out = fs.create(p, false)) {
            out.write(json);
        }
    }

    /**
     * Hadoop's local file system writes a ".name.crc" file beside every file; datasets carry their own checksums,
     * so they are written through the raw file system underneath it (HDFS checksums its blocks itself). The cached,
     * JVM-wide instance is left as it is: switching its checksums off would do so for everything else this JVM
     * writes, checkpoints included.
     */
    public static FileSystem withoutSideChecksums(FileSystem fs) {
        return fs instanceof ChecksumFileSystem checksummed ? checksummed.getRawFileSystem() : fs;
    }
}
