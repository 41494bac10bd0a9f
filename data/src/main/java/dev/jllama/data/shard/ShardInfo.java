package dev.jllama.data.shard;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * One shard as the manifest lists it: file name (relative to the dataset directory), token count, byte length,
 * CRC32C of the whole file, CRC32C of every {@code blockBytes}-sized block so that a corrupt shard's error
 * can name the byte range that changed, and the one source all its documents came from (null: documents of any
 * source).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ShardInfo(String file, long tokens, long bytes, String crc32c, List<String> blockCrc32c, String source)
        implements java.io.Serializable {

    public ShardInfo {
        blockCrc32c = List.copyOf(blockCrc32c);
    }

    /** A shard of documents from any source. */
    public ShardInfo(String file, long tokens, long bytes, String crc32c, List<String> blockCrc32c) {
        this(file, tokens, bytes, crc32c, blockCrc32c, null);
    }

    /** The same shard, its documents all from {@code source}. */
    public ShardInfo ofSource(String source) {
        return new ShardInfo(file, tokens, bytes, crc32c, blockCrc32c, source);
    }
}
