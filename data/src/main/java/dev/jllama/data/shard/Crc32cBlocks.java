package dev.jllama.data.shard;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;

/** Streams bytes through a whole-file CRC32C and one CRC32C per fixed-size block. */
public final class Crc32cBlocks {
    private final int blockBytes;
    private final CRC32C whole = new CRC32C();
    private final CRC32C block = new CRC32C();
    private final List<String> blocks = new ArrayList<>();
    private long total;
    private int inBlock;

    public Crc32cBlocks(int blockBytes) {
        if (blockBytes <= 0) throw new IllegalArgumentException("block size must be positive, got " + blockBytes);
        this.blockBytes = blockBytes;
    }

    public void update(byte[] data, int off, int len) {
        whole.update(data, off, len);
        total += len;
        while (len > 0) {
            int n = Math.min(len, blockBytes - inBlock);
            block.update(data, off, n);
            inBlock += n;
            off += n;
            len -= n;
            if (inBlock == blockBytes) finishBlock();
        }
    }

    private void finishBlock() {
        blocks.add(hex(block.getValue()));
        block.reset();
        inBlock = 0;
    }

    public long bytes() {
        return total;
    }

    public String crc32c() {
        return hex(whole.getValue());
    }

    /** The block checksums so far, the final partial block included. Call once, at the end. */
    public List<String> blockCrcs() {
        if (inBlock > 0) finishBlock();
        return List.copyOf(blocks);
    }

    public static String hex(long crc) {
        return HexFormat.of().toHexDigits((int) crc);
    }
}
