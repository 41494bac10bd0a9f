package dev.jllama.data.shard;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Reads a whole shard through the Hadoop FileSystem API and checks it against its manifest entry: length,
 * header, per-block CRC32C and token range. Every error names the file and the byte offset where it went wrong.
 */
public final class ShardLoader {
    private ShardLoader() {}

    public static LoadedShard load(Path path, ShardInfo expected, int vocabSize, int blockBytes, Configuration conf)
            throws IOException {
        FileSystem fs = path.getFileSystem(conf);
        String name = path.toString();
        FileStatus status;
        try {
            status = fs.getFileStatus(path);
        } catch (java.io.FileNotFoundException e) {
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
        byte[] data = new byte[Math.toIntExact(expected.bytes())];
        try (InputStream in = fs.open(path)) {
            readBlocks(in, data, expected, blockBytes, name);
        }
        ShardHeader header = ShardHeader.decode(data, name);
        if (header.tokens() != expected.tokens()) {
            throw new IOException("shard " + name + ": header token count " + header.tokens()
                    + " at byte offset 8 differs from the manifest's " + expected.tokens());
        }
        if (header.fileBytes() != expected.bytes()) {
            throw new IOException("shard " + name + ": header says " + header.width() + " tokens, which needs "
                    + header.fileBytes() + " bytes, not " + expected.bytes());
        }
        LoadedShard shard = new LoadedShard(name, data, header.width(), header.tokens());
        for (int i = 0; i < header.tokens(); i++) {
            int t = shard.token(i);
            if (t < 0 || t >= vocabSize) {
                throw new IOException("shard " + name + ": token " + Integer.toUnsignedString(t) + " at byte offset "
                        + (ShardHeader.BYTES + (long) i * header.width().bytes()) + " is outside the vocabulary of " + vocabSize);
            }
        }
        return shard;
    }

    private static void readBlocks(InputStream in, byte[] data, ShardInfo expected, int blockBytes, String name)
            throws IOException {
        CRC32C crc = new CRC32C();
        int block = 0;
        for (int start = 0; start < data.length; start += blockBytes, block++) {
            int len = Math.min(blockBytes, data.length - start);
            int got = 0;
            while (got < len) {
                int n = in.read(data, start + got, len - got);
                if (n < 0) {
                    throw new EOFException("shard " + name + " is truncated: it ends at byte offset " + (start + got)
                            + ", the manifest says " + expected.bytes() + " bytes");
                }
                got += n;
            }
            crc.reset();
            crc.update(data, start, len);
            String actual = Crc32cBlocks.hex(crc.getValue());
            String want = expected.blockCrc32c().get(block);
            if (!actual.equalsIgnoreCase(want)) {
                throw new IOException("shard " + name + " is corrupt: CRC32C mismatch in bytes [" + start + ", "
                        + (start + len) + ") (block " + block + "): manifest " + want + ", file " + actual);
            }
        }
    }
}
