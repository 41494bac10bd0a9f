package dev.jllama.data.shard;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** A verified byte range of a shard held in memory; tokens are widened on copy. */
final class TokenBlock {
    private static final VarHandle U16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final String file;
    private final byte[] data;
    private final long fileOffset;
    private final TokenWidth width;

    /** {@code data} holds the shard's bytes from {@code fileOffset} on. */
    TokenBlock(String file, byte[] data, long fileOffset, TokenWidth width) {
        this.file = file;
        this.data = data;
        this.fileOffset = fileOffset;
        this.width = width;
    }

    /** Copies the shard's tokens [start, start+n) into dst[dstOff ..). */
    void copy(long start, int[] dst, int dstOff, int n) {
        long from = ShardHeader.BYTES + start * width.bytes() - fileOffset;
        if (from < 0 || from + (long) n * width.bytes() > data.length) {
            throw new IndexOutOfBoundsException("tokens [" + start + ", " + (start + n) + ") of shard " + file
                    + " are not in the loaded bytes [" + fileOffset + ", " + (fileOffset + data.length) + ")");
        }
        int off = (int) from;
        if (width == TokenWidth.UINT16) {
            for (int i = 0; i < n; i++, off += 2) dst[dstOff + i] = Short.toUnsignedInt((short) U16.get(data, off));
        } else {
            for (int i = 0; i < n; i++, off += 4) dst[dstOff + i] = (int) U32.get(data, off);
        }
    }

    /** The token stored at byte offset {@code offset} of the file, as an unsigned value. */
    long tokenAt(long offset) {
        int off = (int) (offset - fileOffset);
        return width == TokenWidth.UINT16
                ? Short.toUnsignedInt((short) U16.get(data, off))
                : Integer.toUnsignedLong((int) U32.get(data, off));
    }
}
