package dev.jllama.rank;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The event file read back by a decoder of its own here (the end-to-end test in {@code tests} reads it with
 * TensorBoard's reader): framing and checksums, the events, one file per attempt starting with what the metrics
 * kept, and the rewriting where a FileSystem cannot flush an open file.
 */
class TensorBoardLogTest {
    @TempDir
    Path run;

    /** One decoded event: its step, and its scalars or what else it carries. */
    record Event(long step, double wallTime, String fileVersion, boolean sessionStart, Map<String, Float> scalars) {}

    private static StepMetrics step(int step, double loss, Double mfu) {
        return new StepMetrics(step, 512L * step, loss, 1e-3 * step, 0.5, 1000 + step, mfu, 0.2, 0.01, 0.001,
                1.7e9 + step);
    }

    private static int masked(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + 0xa282ead8;
    }

    /** Decodes a whole event file, checking every record's two checksums. */
    static List<Event> read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        List<Event> events = new ArrayList<>();
        while (in.hasRemaining()) {
            int start = in.position();
            int length = (int) in.getLong();
            assertEquals(masked(bytes, start, 8), in.getInt(), "length checksum at " + start);
            int data = in.position();
            in.position(data + length);
            assertEquals(masked(bytes, data, length), in.getInt(), "data checksum at " + start);
            events.add(decode(CodedInputStream.newInstance(bytes, data, length)));
        }
        return events;
    }

    private static Event decode(CodedInputStream in) throws IOException {
        long step = 0;
        double wallTime = 0;
        String version = null;
        boolean start = false;
        Map<String, Float> scalars = new LinkedHashMap<>();
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> wallTime = in.readDouble();
                case 2 -> step = in.readInt64();
                case 3 -> version = in.readString();
                case 5 -> {
                    CodedInputStream summary = in.readBytes().newCodedInput();
                    for (int t; (t = summary.readTag()) != 0; ) {
                        CodedInputStream value = summary.readBytes().newCodedInput();
                        String name = null;
                        float simple = Float.NaN;
                        for (int v; (v = value.readTag()) != 0; ) {
                            if (WireFormat.getTagFieldNumber(v) == 1) name = value.readString();
                            else if (WireFormat.getTagFieldNumber(v) == 2) simple = value.readFloat();
                            else value.skipField(v);
                        }
                        scalars.put(name, simple);
                    }
                }
                case 7 -> {
                    CodedInputStream log = in.readBytes().newCodedInput();
                    for (int t; (t = log.readTag()) != 0; ) {
                        if (WireFormat.getTagFieldNumber(t) == 1) start = log.readEnum() == 1;
                        else log.skipField(t);
                    }
                }
                default -> in.skipField(tag);
            }
        }
        return new Event(step, wallTime, version, start, scalars);
    }

    private List<Path> eventFiles() throws IOException {
        try (Stream<Path> files = Files.list(run.resolve(TensorBoardLog.DIRECTORY))) {
            return files.filter(f -> f.getFileName().toString().startsWith(TensorBoardLog.FILE_PREFIX)).sorted()
                    .toList();
        }
    }

    private Path onlyEventFile() throws IOException {
        List<Path> files = eventFiles();
        assertEquals(1, files.size(), "one event file: " + files);
        return files.get(0);
    }

    @Test
    void eventsCarryTheMetricsOfStepsAndValidations() throws Exception {
        Configuration conf = new Configuration();
        MetricsLog metrics = MetricsLog.open(run.toString(), conf, false, 0);
        try (TensorBoardLog log = TensorBoardLog.open(run.toString(), conf, metrics, "host-1")) {
            log.add(step(1, 8.5, 0.25));
            StepMetrics two = step(2, 8.25, null); // a backend without a peak: no MFU
            log.add(new StepMetrics(two.step(), two.tokens(), two.loss(), two.lr(), two.gradNorm(), two.tokensPerS(),
                    two.mfu(), two.computeS(), two.commWaitS(), two.dataWaitS(), two.time(), // trained on a mixture
                    Map.of("web", Map.of("weight", 0.75, "windows", 5L, "realised", 0.625, "epochs", 0.5))));
            log.add(new MetricsLog.Validation(2, 1024, 8.0, Math.exp(8.0), 3.5, 1.7e9 + 2.5));
            log.flush();
            assertTrue(onlyEventFile().getFileName().toString().matches("events\\.out\\.tfevents\\.\\d{10}\\.host-1\\.[0-9a-f]{8}"),
                    onlyEventFile().toString());
            assertEquals(5, read(onlyEventFile()).size(), "flushed while open: readable before the end");
        }
        List<Event> events = read(onlyEventFile());
        assertEquals("brain.Event:2", events.get(0).fileVersion(), "the first event names the format");
        assertTrue(events.get(1).sessionStart() && events.get(1).step() == 1, "then a restart at step 1");
        Map<String, Float> first = new LinkedHashMap<>();
        first.put("train/loss", 8.5f);
        first.put("train/learning_rate", 1e-3f);
        first.put("train/grad_norm", 0.5f);
        first.put("train/tokens_per_s", 1001f);
        first.put("train/mfu", 0.25f);
        first.put("train/compute_s", 0.2f);
        first.put("train/all_reduce_wait_s", 0.01f);
        first.put("train/data_wait_s", 0.001f);
        assertEquals(new Event(1, 1.7e9 + 1, null, false, first), events.get(2));
        assertFalse(events.get(3).scalars().containsKey("train/mfu"), "MFU left out where there is none");
        assertEquals(8.25f, events.get(3).scalars().get("train/loss"));
        assertEquals(0.625f, events.get(3).scalars().get("data/web/realised"), "a mixture's shares by dataset");
        assertEquals(0.5f, events.get(3).scalars().get("data/web/epochs"));
        assertFalse(events.get(2).scalars().keySet().stream().anyMatch(k -> k.startsWith("data/")), "none for one dataset");
        assertEquals(new Event(2, 1.7e9 + 2.5, null, false, Map.of("val/loss", 8.0f, "val/perplexity",
                (float) Math.exp(8.0), "val/bits_per_byte", 3.5f)), new Event(events.get(4).step(),
                events.get(4).wallTime(), null, false, Map.copyOf(events.get(4).scalars())));
    }

    @Test
    void aResumedAttemptStartsItsOwnFileWithTheKeptStepsAndDeletesTheOlderOnes() throws Exception {
        Configuration conf = new Configuration();
        MetricsLog metrics = MetricsLog.open(run.toString(), conf, false, 0);
        try (TensorBoardLog log = TensorBoardLog.open(run.toString(), conf, metrics, "h")) {
            for (int s = 1; s <= 5; s++) {
                metrics.add(step(s, 9 - s, 0.1));
                log.add(step(s, 9 - s, 0.1));
            }
            MetricsLog.Validation validation = new MetricsLog.Validation(4, 2048, 4.5, 90.0, 2.0, 1.7e9 + 4.5);
            metrics.add(validation);
            log.add(validation);
            metrics.flush();
        }
        Path firstFile = onlyEventFile();

        // Resumed from step 4's checkpoint: steps 1-4 and step 4's validation, as metrics.jsonl keeps them.
        MetricsLog resumed = MetricsLog.open(run.toString(), conf, true, 4);
        try (TensorBoardLog log = TensorBoardLog.open(run.toString(), conf, resumed, "h")) {
            log.add(step(5, 3.75, 0.1));
        }
        Path secondFile = onlyEventFile();
        assertNotEquals(firstFile, secondFile, "the earlier attempt's file is gone, a new one written");
        List<Event> events = read(secondFile);
        assertTrue(events.get(1).sessionStart());
        List<String> seen = new ArrayList<>();
        for (Event e : events.subList(2, events.size())) {
            seen.add(e.step() + (e.scalars().containsKey("val/loss") ? " val " + e.scalars().get("val/loss")
                    : " loss " + e.scalars().get("train/loss")));
        }
        assertEquals(List.of("1 loss 8.0", "2 loss 7.0", "3 loss 6.0", "4 loss 5.0", "4 val 4.5", "5 loss 3.75"), seen);
        assertEquals(1.7e9 + 2, events.get(3).wallTime(), "kept steps keep their time");

        MetricsLog fresh = MetricsLog.open(run.toString(), conf, false, 0);
        TensorBoardLog.open(run.toString(), conf, fresh, "h").close();
        assertEquals(2, read(onlyEventFile()).size(), "a run that does not resume starts over: header events only");
    }

    /** Local files through a FileSystem whose streams cannot be flushed while open, as an object store's. */
    public static final class UnflushableFileSystem extends RawLocalFileSystem {
        @Override
        public FSDataOutputStream create(org.apache.hadoop.fs.Path f, FsPermission permission, boolean overwrite,
                                         int bufferSize, short replication, long blockSize, Progressable progress)
                throws IOException {
            FSDataOutputStream real = super.create(f, permission, overwrite, bufferSize, replication, blockSize,
                    progress);
            return new FSDataOutputStream(new FilterOutputStream(real), null); // hides hflush
        }
    }

    @Test
    void whereOpenFilesCannotBeFlushedTheFileIsRewrittenWhole() throws Exception {
        Configuration conf = new Configuration();
        conf.setClass("fs.file.impl", UnflushableFileSystem.class, org.apache.hadoop.fs.FileSystem.class);
        conf.setBoolean("fs.file.impl.disable.cache", true);
        MetricsLog metrics = MetricsLog.open(run.toString(), new Configuration(), false, 0);
        try (TensorBoardLog log = TensorBoardLog.open(run.toString(), conf, metrics, "h")) {
            log.add(step(1, 8.5, 0.25));
            log.flush();
            assertEquals(3, read(onlyEventFile()).size(), "readable while the attempt runs, though nothing is open");
            log.add(step(2, 8.25, 0.25));
            log.flush();
            assertEquals(4, read(onlyEventFile()).size(), "the whole file each time");
            try (Stream<Path> files = Files.list(run.resolve(TensorBoardLog.DIRECTORY))) {
                assertEquals(List.of(onlyEventFile()), files.toList(), "no temporary file left beside it");
            }
        }
        assertEquals(List.of(0L, 1L, 1L, 2L), read(onlyEventFile()).stream().map(Event::step).toList(),
                "file version, restart, steps 1 and 2");
    }

    @Test
    void maskedChecksumsAreTensorBoardsOwn() {
        // Reference values from TensorBoard's own pure-Python implementation
        // (tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c, tensorboard 2.21).
        assertEquals(575373219, TensorBoardLog.maskedCrc(new byte[] {24, 0, 0, 0, 0, 0, 0, 0}));
        assertEquals(2080768494, TensorBoardLog.maskedCrc("brain.Event:2".getBytes(StandardCharsets.US_ASCII)));
    }
}
