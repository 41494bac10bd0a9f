package dev.jllama.data.shard;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The fixed 1024-byte shard header: 256 little-endian int32 words, laid out as llm.c's token shards so that its
 * tools read our uint16 shards unchanged.
 * <pre>
 *   word 0  magic    20240520 (llm.c)
 *   word 1  version  1 = uint16 tokens (llm.c's GPT-2 layout), 2 = uint32 tokens (this project)
 *   word 2  number of tokens that follow the header
 *   word 3  token width in bytes (2 or 4); llm.c writes 0 here, which version 1 also accepts
 *   4..255  zero
 * </pre>
 * For reading only, llm.c's uint32 layout (magic 20240801, version 7) is accepted too.
 */
public record ShardHeader(int version, TokenWidth width, int tokens) {

    public static final int MAGIC = 20240520;
    public static final int VERSION_UINT16 = 1;
    public static final int VERSION_UINT32 = 2;
    /** llm.c's later uint32 layout (its LLaMA-3 shards). */
    public static final int LLMC_UINT32_MAGIC = 20240801;
    public static final int LLMC_UINT32_VERSION = 7;
    public static final int WORDS = 256;
    public static final int BYTES = WORDS * Integer.BYTES;

    public ShardHeader {
        if (tokens < 0) throw new IllegalArgumentException("token count must be >= 0, got " + tokens);
    }

    public static ShardHeader of(TokenWidth width, int tokens) {
        return new ShardHeader(width == TokenWidth.UINT16 ? VERSION_UINT16 : VERSION_UINT32, width, tokens);
    }

    /** Largest token count of a shard: word 2 is an int32 (readers hold blocks of a shard, never all of it). */
    public static final int MAX_TOKENS = Integer.MAX_VALUE;

    /** Byte length of a shard holding {@code tokens} tokens. */
    public long fileBytes() {
        return BYTES + (long) tokens * width.bytes();
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, MAGIC);
        b.putInt(4, version);
        b.putInt(8, tokens);
        b.putInt(12, width.bytes());
        return b.array();
    }

    /**
     * Parses the first {@link #BYTES} bytes of {@code data}.
     *
     * @param file named in errors, with the byte offset of the offending word
     */
    public static ShardHeader decode(byte[] data, String file) throws IOException {
        if (data.length < BYTES) {
            throw new IOException("shard " + file + " is truncated: the header needs " + BYTES
                    + " bytes, the file ends at byte offset " + data.length);
        }
        ByteBuffer b = ByteBuffer.wrap(data, 0, BYTES).order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt(0);
        int version = b.getInt(4);
        int tokens = b.getInt(8);
        int widthWord = b.getInt(12);
        TokenWidth width;
        if (magic == MAGIC && version == VERSION_UINT16) {
            if (widthWord != 0 && widthWord != 2) {
                throw new IOException("shard " + file + ": token width " + widthWord
                        + " at byte offset 12 contradicts version 1 (uint16)");
            }
            width = TokenWidth.UINT16;
        } else if (magic == MAGIC && version == VERSION_UINT32) {
            if (widthWord != 4) {
                throw new IOException("shard " + file + ": token width " + widthWord
                        + " at byte offset 12 contradicts version 2 (uint32)");
            }
            width = TokenWidth.UINT32;
        } else if (magic == LLMC_UINT32_MAGIC && version == LLMC_UINT32_VERSION) {
            width = TokenWidth.UINT32;
        } else if (magic != MAGIC && magic != LLMC_UINT32_MAGIC) {
            throw new IOException("shard " + file + ": bad magic " + magic + " at byte offset 0 (expected " + MAGIC + ")");
        } else {
            throw new IOException("shard " + file + ": unsupported version " + version + " at byte offset 4");
        }
        if (tokens < 0) {
            throw new IOException("shard " + file + ": negative token count " + tokens + " at byte offset 8");
        }
        return new ShardHeader(version, width, tokens);
    }
}
