package dev.jllama.data.shard;

import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Reads token ranges of a split's shards through the Hadoop FileSystem API with positional reads, widened to
 * whole manifest CRC blocks so that every byte handed out is checked: each CRC32C block, and that every token is
 * below the vocabulary size. A shard's length and header are checked against the manifest once, on its first
 * read. Every error names the file and the byte offset or range. Thread-safe (the prefetch thread uses it).
 */
final class BlockLoader {
    private final Path dir;
    private final FileSystem fs;
    private final List<ShardInfo> shards;
    private final int vocabSize;
    private final int blockBytes;
    private final TokenWidth width;
    private final Set<Integer> checkedShards = ConcurrentHashMap.newKeySet();

    BlockLoader(Path dir, FileSystem fs, Manifest manifest, List<ShardInfo> shards) {
        this.dir = dir;
        this.fs = fs;
        this.shards = shards;
        this.vocabSize = manifest.vocabSize();
        this.blockBytes = manifest.blockBytes();
        this.width = TokenWidth.ofBytes(manifest.tokenWidth());
    }

    /** Tokens [firstToken, endToken) of shard {@code shard} (its manifest index), read and verified. */
    TokenBlock load(int shard, long firstToken, long endToken) throws IOException {
        ShardInfo info = shards.get(shard);
        Path path = new Path(dir, info.file());
        String name = path.toString();
        if (!checkedShards.contains(shard)) {
            checkLengthAndHeader(path, info);
            checkedShards.add(shard);
        }
        long wantedStart = ShardHeader.BYTES + firstToken * width.bytes();
        long wantedEnd = ShardHeader.BYTES + endToken * width.bytes();
        int firstCrcBlock = (int) (wantedStart / blockBytes);
        long readStart = (long) firstCrcBlock * blockBytes;
        long readEnd = Math.min((wantedEnd + blockBytes - 1) / blockBytes * blockBytes, info.bytes());
        byte[] data = new byte[Math.toIntExact(readEnd - readStart)];
        try (FSDataInputStream in = open(path)) {
            in.readFully(readStart, data, 0, data.length);
        } catch (EOFException e) {
            throw new IOException("shard " + name + " is truncated: reading bytes [" + readStart + ", " + readEnd
                    + ") hit its end; the manifest says " + info.bytes() + " bytes", e);
        }
        CRC32C crc = new CRC32C();
        for (int block = firstCrcBlock, off = 0; off < data.length; block++, off += blockBytes) {
            int len = Math.min(blockBytes, data.length - off);
            crc.reset();
            crc.update(data, off, len);
            String actual = Crc32cBlocks.hex(crc.getValue());
            String expected = info.blockCrc32c().get(block);
            if (!actual.equalsIgnoreCase(expected)) {
                long start = readStart + off;
                throw new IOException("shard " + name + " is corrupt: CRC32C mismatch in bytes [" + start + ", "
                        + (start + len) + ") (block " + block + "): manifest " + expected + ", file " + actual);
            }
        }
        TokenBlock tokens = new TokenBlock(name, data, readStart, width);
        for (long at = wantedStart; at < wantedEnd; at += width.bytes()) {
            long t = tokens.tokenAt(at);
            if (t >= vocabSize) {
                throw new IOException("shard " + name + ": token " + t + " at byte offset " + at
                        + " is outside the vocabulary of " + vocabSize);
            }
        }
        return tokens;
    }

    private void checkLengthAndHeader(Path path, ShardInfo expected) throws IOException {
        String name = path.toString();
        FileStatus status;
        try {
            status = fs.getFileStatus(path);
        } catch (FileNotFoundException e) {
            throw new IOException("shard " + name + " listed in the manifest does not exist", e);
        }
        if (status.getLen() < expected.bytes()) {
            throw new IOException("shard " + name + " is truncated: the manifest says " + expected.bytes()
                    + " bytes, the file ends at byte offset " + status.getLen());
        }
        if (status.getLen() > expected.bytes()) {
            throw new IOException("shard " + name + " has " + (status.getLen() - expected.bytes())
                    + " unexpected bytes after byte offset " + expected.bytes());
        }
        byte[] bytes = new byte[ShardHeader.BYTES];
        try (FSDataInputStream in = open(path)) {
            in.readFully(0, bytes, 0, bytes.length);
        }
        ShardHeader header = ShardHeader.decode(bytes, name);
        if (header.tokens() != expected.tokens()) {
            throw new IOException("shard " + name + ": header token count " + header.tokens()
                    + " at byte offset 8 differs from the manifest's " + expected.tokens());
        }
        if (header.width() != width) {
            throw new IOException("shard " + name + ": header says " + header.width() + " tokens, the manifest's "
                    + "token_width is " + width.bytes() + " bytes");
        }
    }

    private FSDataInputStream open(Path path) throws IOException {
        try {
            return fs.open(path);
        } catch (FileNotFoundException e) {
            throw new IOException("shard " + path + " listed in the manifest does not exist", e);
        }
    }
}
