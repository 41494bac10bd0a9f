package dev.jllama.data.shard;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writing a dataset must not change the JVM-wide, cached FileSystem that checkpoints are written through later. */
class SharedFileSystemTest {

    @Test
    void datasetFilesHaveNoSideChecksumsAndOtherFilesStillDo(@TempDir Path dir) throws IOException {
        Configuration conf = new Configuration();
        FileSystem shared = FileSystem.get(dir.toUri(), conf);
        FileSystem dataset = DatasetWriter.withoutSideChecksums(shared);
        write(dataset, dir.resolve("shard.bin"));
        assertFalse(Files.exists(dir.resolve(".shard.bin.crc")), "datasets carry their own checksums");

        write(FileSystem.get(dir.toUri(), conf), dir.resolve("model.safetensors"));
        assertTrue(Files.exists(dir.resolve(".model.safetensors.crc")),
                "the cached local file system still writes side checksums for everything else");
    }

    private static void write(FileSystem fs, Path file) throws IOException {
        try (OutputStream out = fs.create(new org.apache.hadoop.fs.Path(file.toUri()), false)) {
            out.write(new byte[] {1, 2, 3});
        }
    }
}
