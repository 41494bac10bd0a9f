package dev.jllama.data.shard;

import java.util.List;

/**
 * One shard as the manifest lists it: file name (relative to the dataset directory), token count, byte length,
 * CRC32C of the whole file, and CRC32C of every {@code blockBytes}-sized block so that a corrupt shard's error
 * can name the byte range that changed.
 */
public record ShardInfo(String file, long tokens, long bytes, String crc32c, List<String> blockCrc32c)
        implements java.io.Serializable {

    public ShardInfo {
        blockCrc32c = List.copyOf(blockCrc32c);
    }
}
