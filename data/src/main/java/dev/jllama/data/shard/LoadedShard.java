package dev.jllama.data.shard;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** A verified shard held in memory as its raw file bytes (header included); tokens are widened on copy. */
public final class LoadedShard {
    private static final VarHandle U16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final String file;
    private final byte[] data;
    private final TokenWidth width;
    private final int tokens;

    LoadedShard(String file, byte[] data, TokenWidth width, int tokens) {
        this.file = file;
        this.data = data;
        this.width = width;
        this.tokens = tokens;
    }

    public String file() {
        return file;
    }

    public int tokens() {
        return tokens;
    }

    public int token(long index) {
        long off = ShardHeader.BYTES + index * width.bytes();
        return width == TokenWidth.UINT16
                ? Short.toUnsignedInt((short) U16.get(data, (int) off))
                : (int) U32.get(data, (int) off);
    }

    /** Copies tokens [start, start+n) into dst[dstOff ..). */
    public void copy(long start, int[] dst, int dstOff, int n) {
        if (start < 0 || start + n > tokens) {
            throw new IndexOutOfBoundsException("tokens [" + start + ", " + (start + n) + ") of shard " + file
                    + " with " + tokens + " tokens");
        }
        int off = ShardHeader.BYTES + (int) start * width.bytes();
        if (width == TokenWidth.UINT16) {
            for (int i = 0; i < n; i++, off += 2) dst[dstOff + i] = Short.toUnsignedInt((short) U16.get(data, off));
        } else {
            for (int i = 0; i < n; i++, off += 4) dst[dstOff + i] = (int) U32.get(data, off);
        }
    }
}
